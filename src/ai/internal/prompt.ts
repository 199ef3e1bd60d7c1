/**
 * An `@effect/ai` `Prompt` as our chat: system, user and assistant text; images in user messages
 * (uploaded with `client.files.prepareImage`); an assistant's tool calls become its message's
 * tool calls, and each tool result one `tool` message (the JSON of the result; a failure as
 * `{"error": …}`, as the official clients send it). Tools another provider ran itself (calls and
 * results marked provider-executed) are left out. What our chats cannot carry (non-image files,
 * files by URL) fails with `MalformedInput`, naming it.
 * The whole prompt is checked before the first image is uploaded.
 *
 * @internal
 */
import type * as AiError from "@effect/ai/AiError"
import type * as Prompt from "@effect/ai/Prompt"
import * as Effect from "effect/Effect"
import type { ChatMessageInput } from "../../Chat.js"
import type { FilesNamespace, ImageBase64, ImageBytes } from "../../Files.js"
import type { ToolCallRequest } from "../../Prediction.js"
import { malformedInput, toAiError } from "./errors.js"

const DATA_URL = /^data:[^;,]*;base64,/

type ImageInput = ImageBytes | ImageBase64

/** A message whose images are still to be uploaded. */
interface Draft {
  readonly message: ChatMessageInput
  readonly images: ReadonlyArray<ImageInput>
}

/** Problems are strings here; `promptToChat` makes them `MalformedInput`. */
type Checked<A> = A | { readonly problem: string }

const isProblem = <A>(checked: Checked<A>): checked is { readonly problem: string } =>
  typeof checked === "object" && checked !== null && "problem" in checked

const image = (part: Prompt.FilePart, index: number): Checked<ImageInput> => {
  if (!part.mediaType.startsWith("image/")) {
    return { problem: `file part of media type "${part.mediaType}" is not supported: only images can be sent` }
  }
  const name = part.fileName ?? `image-${index}.${part.mediaType.slice("image/".length) || "png"}`
  const data = part.data instanceof URL && part.data.protocol === "data:" ? part.data.href : part.data
  if (data instanceof URL || (typeof data === "string" && /^[a-z][a-z0-9+.-]*:\/\//i.test(data))) {
    return { problem: `image "${name}" is given by URL: LM Studio takes image bytes, so fetch it and pass them as data` }
  }
  return typeof data === "string" ? { name, base64: data.replace(DATA_URL, "") } : { name, data }
}

const isRecord = (u: unknown): u is Readonly<Record<string, unknown>> =>
  typeof u === "object" && u !== null && !Array.isArray(u)

const toolCall = (part: Prompt.ToolCallPart): Checked<ToolCallRequest> =>
  isRecord(part.params)
    ? { type: "function", id: part.id, name: part.name, arguments: part.params }
    : { problem: `the parameters of tool call "${part.id}" (${part.name}) must be an object: LM Studio sends tool arguments as one` }

const toolResult = (part: Prompt.ToolResultPart): Checked<ChatMessageInput> => {
  let content: string | undefined
  try {
    content = JSON.stringify(part.isFailure ? { error: part.result } : part.result)
  } catch (error) {
    return { problem: `the result of tool call "${part.id}" (${part.name}) is not JSON: ${String(error).slice(0, 200)}` }
  }
  return { role: "tool", content: content ?? "null", toolCallId: part.id, toolName: part.name }
}

const assistant = (message: Prompt.AssistantMessage): Checked<ChatMessageInput> => {
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
        // Calls another provider ran itself (and their results, below) have no place in LM Studio's history.
        if (part.providerExecuted) break
        const call = toolCall(part)
        if (isProblem(call)) return call
        toolCalls.push(call)
        break
      }
      case "tool-result":
        break
      case "file":
        return { problem: "an assistant message has a file part: lmstudio-effect sends files only in user messages" }
    }
  }
  return { role: "assistant", content: text.join(""), toolCalls }
}

/** Every message checked and mapped, images not uploaded yet; or the first problem. */
const drafts = (prompt: Prompt.Prompt): Checked<Array<Draft>> => {
  const out: Array<Draft> = []
  let imageCount = 0
  for (const message of prompt.content) {
    switch (message.role) {
      case "system":
        out.push({ message: { role: "system", content: message.content }, images: [] })
        break
      case "user": {
        const text: Array<string> = []
        const images: Array<ImageInput> = []
        for (const part of message.content) {
          if (part.type === "text") {
            text.push(part.text)
            continue
          }
          const checked = image(part, imageCount++)
          if (isProblem(checked)) return checked
          images.push(checked)
        }
        out.push({ message: { role: "user", content: text.join("\n") }, images })
        break
      }
      case "assistant": {
        const checked = assistant(message)
        if (isProblem(checked)) return checked
        out.push({ message: checked, images: [] })
        break
      }
      case "tool":
        for (const part of message.content) {
          const checked = toolResult(part)
          if (isProblem(checked)) return checked
          out.push({ message: checked, images: [] })
        }
    }
  }
  return out
}

/** Whether a user message of the prompt has a file part (which `promptToChat` uploads). */
export const hasFiles = (prompt: Prompt.Prompt): boolean =>
  prompt.content.some((message) => message.role === "user" && message.content.some((part) => part.type === "file"))

/** The prompt as chat messages: checked whole first, then its images uploaded. */
export const promptToChat = (
  prompt: Prompt.Prompt,
  files: FilesNamespace,
  module: string,
  method: string
): Effect.Effect<ReadonlyArray<ChatMessageInput>, AiError.AiError> => {
  const checked = drafts(prompt)
  if (isProblem(checked)) return Effect.fail(malformedInput(module, method, checked.problem))
  const toError = toAiError(module, method)
  return Effect.forEach(checked, ({ images, message }) =>
    images.length === 0
      ? Effect.succeed(message)
      : Effect.map(
        Effect.mapError(Effect.forEach(images, (input) => files.prepareImage(input)), toError),
        (handles): ChatMessageInput => ({ ...message, images: handles })
      ))
}
