/**
 * `client.files`: upload images (and other files) that chat messages then refer to.
 *
 * @since 0.2.0
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import type { PlatformError } from "@effect/platform/Error"
import type * as Effect from "effect/Effect"
import type { FileHandle } from "./FileHandle.js"
import type { LMStudioError } from "./LMStudioError.js"

/**
 * An image given as bytes, with the file name the model will see.
 *
 * @since 0.2.0
 * @category models
 */
export interface ImageBytes {
  readonly name: string
  readonly data: Uint8Array
}

/**
 * An image given as base64 (no `data:` prefix), with the file name the model will see.
 *
 * @since 0.2.0
 * @category models
 */
export interface ImageBase64 {
  readonly name: string
  readonly base64: string
}

/**
 * `client.files`.
 *
 * @since 0.2.0
 * @category models
 */
export interface FilesNamespace {
  /**
   * Uploads an image to LM Studio and returns the handle chats refer to it by. LM Studio keeps
   * the file until this client disconnects; `type` says what it decided the file is.
   *
   * Given a path, the file is read with the `FileSystem` service, which the program provides
   * (e.g. `NodeFileSystem.layer` from `@effect/platform-node`); the model sees its base name.
   */
  readonly prepareImage: {
    (image: ImageBytes | ImageBase64): Effect.Effect<FileHandle, LMStudioError>
    (path: string): Effect.Effect<FileHandle, LMStudioError | PlatformError, FileSystem.FileSystem>
  }
}
