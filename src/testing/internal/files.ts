/**
 * The `files` namespace (`uploadFileBase64`) and the checks a chat's file parts must pass.
 * Only metadata is kept: the simulated models never look at the bytes.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import { rpcStrict } from "./context.js"
import { fileNotFound, imagesNotSupported, invalidParameter, type ServerFailure } from "./errors.js"
import type { InstanceRecord } from "./models.js"
import type { Sim } from "./state.js"
import { type ChatHistoryData, type FilePart, type FileType, UploadFileBase64Parameter } from "./wire.js"

/** An uploaded file as the simulator remembers it. */
export interface StoredFile {
  readonly identifier: string
  readonly name: string
  readonly fileType: FileType
  readonly sizeBytes: number
}

/** The most files remembered; the oldest are forgotten first, so a long-running simulator stays bounded [inferred]. */
export const MAX_STORED_FILES = 10_000

const startsWith = (bytes: Uint8Array, prefix: ReadonlyArray<number>, at = 0): boolean =>
  bytes.length >= at + prefix.length && prefix.every((b, i) => bytes[at + i] === b)

const ascii = (text: string): ReadonlyArray<number> => Array.from(text, (c) => c.charCodeAt(0))

const utf8 = new TextDecoder("utf-8", { fatal: true })

/** The file type decided from the content: image magic bytes, `%PDF`, valid UTF-8 text, else unknown. */
export const detectFileType = (bytes: Uint8Array): FileType => {
  if (
    startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]) || // PNG
    startsWith(bytes, [0xff, 0xd8, 0xff]) || // JPEG
    startsWith(bytes, ascii("GIF87a")) || startsWith(bytes, ascii("GIF89a")) ||
    (startsWith(bytes, ascii("RIFF")) && startsWith(bytes, ascii("WEBP"), 8))
  ) return "image"
  if (startsWith(bytes, ascii("%PDF"))) return "application/pdf"
  try {
    utf8.decode(bytes)
    return "text/plain"
  } catch {
    return "unknown"
  }
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{2,3})?$/

/** Strict standard base64 (whitespace ignored, padding optional), or `undefined`. */
export const decodeBase64 = (text: string): Buffer | undefined => {
  const compact = text.replace(/\s+/g, "")
  return BASE64.test(compact) ? Buffer.from(compact, "base64") : undefined
}

/**
 * A server-chosen identifier the official clients accept as a file name: upload time, a
 * sequence number (identical uploads get different identifiers) and the name with path
 * separators and control characters replaced, e.g. `1764457200000-1-dot.png`.
 */
export const fileIdentifier = (now: number, sequence: number, name: string): string => {
  // eslint-disable-next-line no-control-regex
  const safe = name.replace(/[/\\\u0000-\u001f]/g, "_").slice(-100)
  return `${now}-${sequence}-${safe.length > 0 ? safe : "file"}`
}

/** `uploadFileBase64 {name, contentBase64}` → `{identifier, fileType, sizeBytes}`. */
export const uploadFileBase64 = rpcStrict("uploadFileBase64", UploadFileBase64Parameter, (ctx, { contentBase64, name }) =>
  Effect.gen(function*() {
    const bytes = decodeBase64(contentBase64)
    if (bytes === undefined) return yield* Effect.fail(invalidParameter("uploadFileBase64", "contentBase64 is not valid base64"))
    const now = yield* Clock.currentTimeMillis
    return yield* Effect.sync(() => {
      const files = ctx.sim.state.files
      const stored: StoredFile = {
        identifier: fileIdentifier(now, ++ctx.sim.state.fileSequence, name),
        name,
        fileType: detectFileType(bytes),
        sizeBytes: bytes.length
      }
      files.set(stored.identifier, stored)
      if (files.size > MAX_STORED_FILES) {
        const oldest = files.keys().next()
        if (oldest.done !== true) files.delete(oldest.value)
      }
      return { identifier: stored.identifier, fileType: stored.fileType, sizeBytes: stored.sizeBytes }
    })
  }))

const fileParts = (history: ChatHistoryData): ReadonlyArray<FilePart> =>
  history.messages.flatMap((message): ReadonlyArray<FilePart> =>
    message.role === "tool" ? [] : message.content.flatMap((part) => (part.type === "file" ? [part] : []))
  )

/** The refusal for a chat holding an image when the instance has no vision, else `undefined`. */
export const refuseImagesFor = (instance: InstanceRecord, history: ChatHistoryData): ServerFailure | undefined => {
  const vision = instance.model.type === "llm" && instance.model.vision
  return !vision && fileParts(history).some((part) => part.fileType === "image")
    ? imagesNotSupported(instance.identifier, instance.model.modelKey)
    : undefined
}

/** The refusal for a chat naming a file identifier this server never issued, else `undefined`. */
export const refuseUnknownFiles = (sim: Sim, history: ChatHistoryData): ServerFailure | undefined => {
  const unknown = fileParts(history).find((part) => !sim.state.files.has(part.identifier))
  return unknown === undefined ? undefined : fileNotFound(unknown.identifier)
}

/**
 * What a prediction checks before it starts: every file part names an uploaded file, and images
 * go only to vision models. Returns the failure to end the channel with, or `undefined`.
 */
export const refuseFiles = (sim: Sim, instance: InstanceRecord, history: ChatHistoryData): ServerFailure | undefined =>
  refuseUnknownFiles(sim, history) ?? refuseImagesFor(instance, history)
