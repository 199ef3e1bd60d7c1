/**
 * `client.files` over the `/files` socket: `uploadFileBase64 {name, contentBase64}` →
 * `{identifier, fileType, sizeBytes}`.
 *
 * @internal
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import * as Encoding from "effect/Encoding"
import * as Schema from "effect/Schema"
import { FileHandle, FileType } from "../../FileHandle.js"
import type { FilesNamespace, ImageBase64, ImageBytes } from "../../Files.js"
import { InvalidArgumentError, type LMStudioError, ProtocolError } from "../../LMStudioError.js"
import type { Port } from "../port.js"
import { withClientSpan } from "../tracing.js"

const UploadResult = Schema.Struct({ identifier: Schema.String, fileType: FileType, sizeBytes: Schema.Number })
const decodeUploadResult = Schema.decodeUnknown(UploadResult)

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/

const invalid = (field: string, reason: string) => Effect.fail(new InvalidArgumentError({ field, reason }))

const fileName = (field: string, name: unknown): Effect.Effect<string, InvalidArgumentError> => {
  if (typeof name !== "string") return invalid(field, `must be a string, got ${typeof name}`)
  if (name.length === 0) return invalid(field, "must not be empty")
  if (name.length > 1024) return invalid(field, `must be at most 1024 characters, got ${name.length}`)
  if (CONTROL.test(name)) return invalid(field, "must not contain control characters")
  return Effect.succeed(name)
}

/** Node's encoder when there is one (much faster on megabytes), Effect's otherwise. */
const toBase64 = (data: Uint8Array): string => {
  const NodeBuffer = (globalThis as { Buffer?: { from(b: ArrayBufferLike, o: number, l: number): { toString(e: "base64"): string } } })
    .Buffer
  return NodeBuffer === undefined
    ? Encoding.encodeBase64(data)
    : NodeBuffer.from(data.buffer, data.byteOffset, data.byteLength).toString("base64")
}

/** The name and base64 content of bytes or base64 input, checked. */
const contentOf = (
  image: ImageBytes | ImageBase64
): Effect.Effect<{ readonly name: string; readonly contentBase64: string }, InvalidArgumentError> => {
  if (typeof image !== "object" || image === null) {
    return invalid("image", "must be a path, { name, data: Uint8Array } or { name, base64 }")
  }
  return Effect.flatMap(fileName("name", image.name), (name) => {
    if ("data" in image) {
      if (!(image.data instanceof Uint8Array)) return invalid("data", "must be a Uint8Array (or a Node Buffer)")
      if (image.data.byteLength === 0) return invalid("data", "must not be empty")
      return Effect.succeed({ name, contentBase64: toBase64(image.data) })
    }
    if ("base64" in image) {
      const base64 = image.base64
      if (typeof base64 !== "string") return invalid("base64", `must be a string, got ${typeof base64}`)
      if (base64.length === 0) return invalid("base64", "must not be empty")
      if (base64.startsWith("data:")) return invalid("base64", "must be plain base64: drop the `data:…;base64,` prefix")
      if (base64.length % 4 !== 0 || !BASE64.test(base64)) {
        return invalid("base64", "must be base64 (A–Z, a–z, 0–9, + and /, padded with = to a multiple of 4)")
      }
      return Effect.succeed({ name, contentBase64: base64 })
    }
    return invalid("image", "must have `data` (bytes) or `base64`")
  })
}

/** The last segment of a path, `/` or `\` separated (what the model sees as the file's name). */
const baseName = (path: string): string => path.split(/[\\/]/).at(-1) ?? ""

/** Builds `client.files` over the `/files` socket. */
export const make = (port: Port): FilesNamespace => {
  const upload = (name: string, contentBase64: string): Effect.Effect<FileHandle, LMStudioError> =>
    port.call("uploadFileBase64", { name, contentBase64 }).pipe(
      Effect.flatMap((result) =>
        Effect.mapError(decodeUploadResult(result), (e) => ProtocolError.fromParseError(e, { endpoint: "uploadFileBase64", redact: port.redact }))
      ),
      Effect.map(({ fileType, identifier, sizeBytes }) => new FileHandle({ name, identifier, type: fileType, sizeBytes }))
    )

  const fromPath = (path: unknown) =>
    Effect.gen(function*() {
      if (typeof path !== "string" || path.length === 0) {
        return yield* invalid("path", typeof path === "string" ? "must not be empty" : `must be a string, got ${typeof path}`)
      }
      const name = yield* fileName("path", baseName(path))
      const fs = yield* FileSystem.FileSystem
      const data = yield* fs.readFile(path)
      if (data.byteLength === 0) return yield* invalid("path", `is an empty file: ${path}`)
      return yield* upload(name, toBase64(data))
    })

  const prepareImage = (source: string | ImageBytes | ImageBase64) =>
    (typeof source === "string"
      ? fromPath(source)
      : Effect.flatMap(contentOf(source), ({ contentBase64, name }) => upload(name, contentBase64))).pipe(
        withClientSpan("LMStudio.files.prepareImage")
      )

  return { prepareImage: prepareImage as FilesNamespace["prepareImage"] }
}
