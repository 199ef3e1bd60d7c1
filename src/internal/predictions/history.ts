/**
 * Chats on the wire: `ChatInput` checked by hand (before any frame) and mapped to LM Studio's
 * `ChatHistoryData`, with file parts before the text part of a message, as the official JS
 * client does.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import { Chat, type ChatMessage, type ChatMessageInput } from "../../Chat.js"
import type { FileHandle } from "../../FileHandle.js"
import { InvalidArgumentError } from "../../LMStudioError.js"

type FilePart = {
  readonly type: "file"
  readonly identifier: string
  readonly name: string
  readonly fileType: string
  readonly sizeBytes: number
}
type TextPart = { readonly type: "text"; readonly text: string }

export interface WireMessage {
  readonly role: "system" | "user" | "assistant"
  readonly content: ReadonlyArray<FilePart | TextPart>
}

export interface ChatHistoryData {
  readonly messages: ReadonlyArray<WireMessage>
}

const ROLES = new Set(["system", "user", "assistant"])
const MESSAGE_KEYS = new Set(["role", "content", "images"])
const FILE_TYPES = new Set(["image", "text/plain", "application/pdf", "application/word", "text/other", "unknown"])

const typeName = (u: unknown) => (u === null ? "null" : Array.isArray(u) ? "an array" : typeof u)

const fileToWire = (file: FileHandle): FilePart => ({
  type: "file",
  identifier: file.identifier,
  name: file.name,
  fileType: file.type,
  sizeBytes: file.sizeBytes
})

const messageToWire = (message: { readonly role: WireMessage["role"]; readonly content: string; readonly images?: ReadonlyArray<FileHandle> | undefined }): WireMessage => {
  const text: TextPart = { type: "text", text: message.content }
  const images = message.images
  return {
    role: message.role,
    content: images === undefined || images.length === 0 ? [text] : [...images.map(fileToWire), text]
  }
}

/** Why a value is not a file handle, or `undefined` when it is one. */
const checkFile = (u: unknown): string | undefined => {
  if (typeof u !== "object" || u === null) return `must be a FileHandle (from client.files.prepareImage), got ${typeName(u)}`
  const file = u as Record<string, unknown>
  if (typeof file.identifier !== "string" || file.identifier === "") return "must have a non-empty string identifier"
  if (typeof file.name !== "string") return "must have a string name"
  if (typeof file.type !== "string" || !FILE_TYPES.has(file.type)) return `has an unknown file type ${JSON.stringify(file.type)}`
  if (typeof file.sizeBytes !== "number" || !(file.sizeBytes >= 0)) return "must have a non-negative sizeBytes"
  return undefined
}

/** One message, checked; `field` names it in errors (e.g. `chat[2]`). */
const checkMessage = (u: unknown, field: string): InvalidArgumentError | WireMessage => {
  const fail = (at: string, reason: string) => new InvalidArgumentError({ field: at, reason })
  if (typeof u !== "object" || u === null || Array.isArray(u)) {
    return fail(field, `must be a message ({ role, content }), got ${typeName(u)}`)
  }
  const message = u as Record<string, unknown>
  for (const key of Object.keys(message)) {
    if (!MESSAGE_KEYS.has(key)) return fail(`${field}.${key}`, "is not a message field (expected role, content, images)")
  }
  if (typeof message.role !== "string" || !ROLES.has(message.role)) {
    return fail(`${field}.role`, `must be "system", "user" or "assistant", got ${JSON.stringify(message.role) ?? "undefined"}`)
  }
  if (typeof message.content !== "string") return fail(`${field}.content`, `must be a string, got ${typeName(message.content)}`)
  const images = message.images
  if (images !== undefined) {
    if (!Array.isArray(images)) return fail(`${field}.images`, `must be an array of FileHandles, got ${typeName(images)}`)
    for (let i = 0; i < images.length; i++) {
      const problem = checkFile(images[i])
      if (problem !== undefined) return fail(`${field}.images[${i}]`, problem)
    }
  }
  return messageToWire(message as unknown as ChatMessageInput)
}

/**
 * A `ChatInput` as `ChatHistoryData`, or an `InvalidArgumentError` naming the bad field. A `Chat`
 * was checked when it was made; anything else is checked here.
 */
export const toHistory = (input: unknown, field = "chat"): Effect.Effect<ChatHistoryData, InvalidArgumentError> => {
  if (input instanceof Chat) {
    if (input.messages.length === 0) return Effect.fail(new InvalidArgumentError({ field, reason: "has no messages" }))
    return Effect.succeed({ messages: input.messages.map((m: ChatMessage) => messageToWire(m)) })
  }
  if (typeof input === "string") return Effect.succeed({ messages: [messageToWire({ role: "user", content: input })] })
  const list: ReadonlyArray<unknown> | undefined = Array.isArray(input)
    ? input
    : typeof input === "object" && input !== null
    ? [input]
    : undefined
  if (list === undefined) {
    return Effect.fail(
      new InvalidArgumentError({ field, reason: `must be a Chat, a string or messages ({ role, content }), got ${typeName(input)}` })
    )
  }
  if (list.length === 0) return Effect.fail(new InvalidArgumentError({ field, reason: "has no messages" }))
  const messages: Array<WireMessage> = []
  for (let i = 0; i < list.length; i++) {
    const checked = checkMessage(list[i], Array.isArray(input) ? `${field}[${i}]` : field)
    if (checked instanceof InvalidArgumentError) return Effect.fail(checked)
    messages.push(checked)
  }
  return Effect.succeed({ messages })
}

/** A completion prompt: one user message, as the official 1.5.0 client sends it. */
export const promptHistory = (prompt: unknown): Effect.Effect<ChatHistoryData, InvalidArgumentError> =>
  typeof prompt === "string"
    ? Effect.succeed({ messages: [{ role: "user", content: [{ type: "text", text: prompt }] }] })
    : Effect.fail(new InvalidArgumentError({ field: "prompt", reason: `must be a string, got ${typeName(prompt)}` }))
