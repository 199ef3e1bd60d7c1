/**
 * A `FileSystem` service over `node:fs/promises` for tests: only `readFile` (all that
 * `client.files.prepareImage(path)` uses). Applications provide `NodeFileSystem.layer` from
 * `@effect/platform-node` instead.
 */
import { SystemError, type SystemErrorReason } from "@effect/platform/Error"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import { readFile } from "node:fs/promises"

const reasonOf = (code: unknown): SystemErrorReason =>
  code === "ENOENT" ? "NotFound" : code === "EACCES" ? "PermissionDenied" : code === "EISDIR" ? "BadResource" : "Unknown"

export const layer = FileSystem.layerNoop({
  readFile: (path) =>
    Effect.tryPromise({
      try: async () => new Uint8Array(await readFile(path)),
      catch: (error) =>
        new SystemError({
          reason: reasonOf((error as { code?: unknown }).code),
          module: "FileSystem",
          method: "readFile",
          pathOrDescriptor: path,
          description: String((error as { message?: unknown }).message ?? error)
        })
    })
})
