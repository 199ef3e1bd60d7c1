/**
 * An `@effect/ai` `Prompt` as our chat: system, user and assistant text; images in user messages
 * are uploaded first (`client.files.prepareImage`); an assistant's tool calls become its message's
 * tool calls, and each tool result one `tool` message (the JSON of the result; a failure as
 * `{"error": …}`, as the official clients send it). What our chats cannot carry (non-image
 * files, files by URL, results of provider-executed tools) fails with `MalformedInput`, naming it.
 *
 * @internal
 */
import type * as AiError from "@effect/ai/AiError"
import type * as Prompt from "@effect/ai/Prompt"
import * as Effect from "effect/Effect"
import type { ChatMessageInput } from "../../Chat.js"
import type { ToolCallRequest } from "../../Prediction.js"
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

const isRecord = (u: unknown): u is Readonly<Record<string, unknown>> =>
  typeof u === "object" && u !== null && !Array.isArray(u)

const toolCall = (part: Prompt.ToolCallPart): ToolCallRequest | string =>
  isRecord(part.params)
    ? { type: "function", id: part.id, name: part.name, arguments: part.params }
    : `the parameters of tool call "${part.id}" (${part.name}) must be an object: LM Studio sends tool arguments as one`

const resultText = (part: Prompt.ToolResultPart): string => {
  const text = JSON.stringify(part.isFailure ? { error: part.result } : part.result)
  return text === undefined ? "null" : text
}

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
  return Effect.forEach(prompt.content, (message): Effect.Effect<ChatMessageInput | ReadonlyArray<ChatMessageInput>, AiError.AiError> => {
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
        const toolCalls: Array<ToolCallRequest> = []
        for (const part of message.content) {
          switch (part.type) {
            case "text":
              text.push(part.text)
              break
            case "reasoning":
              // Reasoning stays out of the history, as chat applications keep it.
              break
            case "tool-call": {
              const call = toolCall(part)
              if (typeof call === "string") return Effect.fail(fail(call))
              toolCalls.push(call)
              break
            }
            case "tool-result":
              return Effect.fail(fail(
                `the assistant message has the result of a provider-executed tool ("${part.name}"), which LM Studio has no place for`
              ))
            case "file":
              return Effect.fail(fail("an assistant message has a file part: lmstudio-effect sends files only in user messages"))
          }
        }
        return Effect.succeed({ role: "assistant", content: text.join(""), toolCalls })
      }
      case "tool":
        return Effect.succeed(message.content.map((part): ChatMessageInput => ({
          role: "tool",
          content: resultText(part),
          toolCallId: part.id,
          toolName: part.name
        })))
    }
  }).pipe(Effect.map((messages) => messages.flat()))
}
