/**
 * Files uploaded to LM Studio (images for vision models), referenced from chat messages.
 *
 * @since 0.2.0
 */
import * as Schema from "effect/Schema"

/**
 * What LM Studio decided an uploaded file is.
 *
 * @since 0.2.0
 * @category models
 */
export const FileType = Schema.Literal("image", "text/plain", "application/pdf", "application/word", "text/other", "unknown")

/**
 * @since 0.2.0
 * @category models
 */
export type FileType = typeof FileType.Type

/**
 * A file uploaded with `client.files.prepareImage(...)`: the server keeps the bytes, chats refer
 * to them by `identifier`.
 *
 * @since 0.2.0
 * @category models
 */
export class FileHandle extends Schema.TaggedClass<FileHandle>("lmstudio-effect/FileHandle")("FileHandle", {
  /** The name given at upload (shown to the model as the file name). */
  name: Schema.String,
  /** The server-chosen identifier chats use to refer to the file. */
  identifier: Schema.String,
  /** What the server decided the file is. */
  type: FileType,
  /** The decoded size in bytes. */
  sizeBytes: Schema.Number
}) {}
