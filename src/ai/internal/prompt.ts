/**
 * An `@effect/ai` `Prompt` as our chat: system, user and assistant text; images in user messages
 * are uploaded first (`client.files.prepareImage`). What our chats cannot carry (tool calls and
 * results in the history, non-image files, files by URL) fails with `MalformedInput`, naming it.
 *
 * @internal
 */
import type * as AiError from "@effect/ai/AiError"
import type * as Prompt from "@effect/ai/Prompt"
import * as Effect from "effect/Effect"
import type { ChatMessageInput } from "../../Chat.js"
import type { FileHandle } from "../../FileHandle.js"
import type { FilesNamespace } from "../../Files.js"
import { malformedInput, toAiError } from "./errors.js"

const DATA_URL = /^data:[^;,]*;base64,/

const imageFile = (
  files: FilesNamespace,
  part: Prompt.FilePart,
  index: number,
  fail: (description: string) => AiError.AiError,
  toError: ReturnType<typeof toAiError>
): Effect.Effect<FileHandle, AiError.AiError> => {
  if (!part.mediaType.startsWith("image/")) {
    return Effect.fail(fail(`file part of media type "${part.mediaType}" is not supported: only images can be sent`))
  }
  const name = part.fileName ?? `image-${index}.${part.mediaType.slice("image/".length) || "png"}`
  const data = part.data
  if (data instanceof URL) {
    return Effect.fail(fail(`image "${name}" is given by URL: LM Studio takes image bytes, so fetch it and pass them as data`))
  }
  const upload = typeof data === "string"
    ? files.prepareImage({ name, base64: data.replace(DATA_URL, "") })
    : files.prepareImage({ name, data })
  return Effect.mapError(upload, toError)
}

const unsupportedPart = (role: string, type: string): string =>
  `${role} message has a "${type}" part, which lmstudio-effect chats cannot carry yet (only text${
    role === "user" ? " and images" : ""
  })`

/** The prompt as chat messages, uploading its images. */
export const promptToChat = (
  prompt: Prompt.Prompt,
  files: FilesNamespace,
  module: string,
  method: string
): Effect.Effect<ReadonlyArray<ChatMessageInput>, AiError.AiError> => {
  const fail = (description: string) => malformedInput(module, method, description)
  const toError = toAiError(module, method)
  let imageCount = 0
  return Effect.forEach(prompt.content, (message): Effect.Effect<ChatMessageInput, AiError.AiError> => {
    switch (message.role) {
      case "system":
        return Effect.succeed({ role: "system", content: message.content })
      case "user": {
        const text: Array<string> = []
        const images: Array<Prompt.FilePart> = []
        for (const part of message.content) {
          if (part.type === "text") text.push(part.text)
          else images.push(part)
        }
        const content = text.join("\n")
        if (images.length === 0) return Effect.succeed({ role: "user", content })
        return Effect.map(
          Effect.forEach(images, (part) => imageFile(files, part, imageCount++, fail, toError)),
          (handles) => ({ role: "user", content, images: handles })
        )
      }
      case "assistant": {
        const text: Array<string> = []
        for (const part of message.content) {
          // Reasoning stays out of the history, as chat applications keep it.
          if (part.type === "text") text.push(part.text)
          else if (part.type !== "reasoning") return Effect.fail(fail(unsupportedPart("assistant", part.type)))
        }
        return Effect.succeed({ role: "assistant", content: text.join("") })
      }
      case "tool":
        return Effect.fail(fail("tool messages (tool results) cannot be sent yet: lmstudio-effect chats carry only text and images"))
    }
  })
}
