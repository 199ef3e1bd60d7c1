/**
 * Chats on the wire: `ChatInput` checked by hand (before any frame) and mapped to LM Studio's
 * `ChatHistoryData` the way the official JS client sends it:
 *
 * - file parts before the text part of a message;
 * - an assistant message as its text part followed by one `toolCallRequest` part per tool call
 *   (the text part stays even when empty, as `act` sends it);
 * - consecutive `tool` messages as ONE wire `tool` message with one `toolCallResult` part each,
 *   in order (what `act` sends after running a round's tools).
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import { Chat, ChatMessage, type ChatMessageInput } from "../../Chat.js"
import type { FileHandle } from "../../FileHandle.js"
import { InvalidArgumentError } from "../../LMStudioError.js"
import type { ToolCallRequest } from "../../Prediction.js"

type FilePart = {
  readonly type: "file"
  readonly identifier: string
  readonly name: string
  readonly fileType: string
  readonly sizeBytes: number
}
type TextPart = { readonly type: "text"; readonly text: string }
type ToolCallRequestPart = { readonly type: "toolCallRequest"; readonly toolCallRequest: ToolCallRequest }
type ToolCallResultPart = {
  readonly type: "toolCallResult"
  readonly content: string
  readonly toolCallId?: string
  readonly name?: string
}

export type WireMessage =
  | { readonly role: "system" | "user" | "assistant"; readonly content: ReadonlyArray<FilePart | TextPart | ToolCallRequestPart> }
  | { readonly role: "tool"; readonly content: ReadonlyArray<ToolCallResultPart> }

export interface ChatHistoryData {
  readonly messages: ReadonlyArray<WireMessage>
}

const ROLES = new Set(["system", "user", "assistant", "tool"])
const MESSAGE_KEYS = new Set(["role", "content", "images", "toolCalls", "toolCallId", "toolName"])
const TOOL_CALL_KEYS = new Set(["type", "name", "id", "arguments"])
const FILE_TYPES = new Set(["image", "text/plain", "application/pdf", "application/word", "text/other", "unknown"])

const typeName = (u: unknown) => (u === null ? "null" : Array.isArray(u) ? "an array" : typeof u)
const shown = (u: unknown) => JSON.stringify(u) ?? "undefined"

const fileToWire = (file: FileHandle): FilePart => ({
  type: "file",
  identifier: file.identifier,
  name: file.name,
  fileType: file.type,
  sizeBytes: file.sizeBytes
})

/** A tool call as LM Studio's `FunctionToolCallRequest`: only its own fields. */
const toolCallToWire = (call: ToolCallRequest): ToolCallRequestPart => ({
  type: "toolCallRequest",
  toolCallRequest: {
    type: "function",
    name: call.name,
    ...(call.id === undefined ? undefined : { id: call.id }),
    ...(call.arguments === undefined ? undefined : { arguments: call.arguments })
  }
})

const toolResultToWire = (message: ChatMessageInput): ToolCallResultPart => ({
  type: "toolCallResult",
  content: message.content,
  ...(message.toolCallId === undefined ? undefined : { toolCallId: message.toolCallId }),
  ...(message.toolName === undefined ? undefined : { name: message.toolName })
})

/** Checked messages as wire messages; consecutive tool messages become one. */
const toWire = (messages: ReadonlyArray<ChatMessageInput>): ChatHistoryData => {
  const wire: Array<WireMessage> = []
  let results: Array<ToolCallResultPart> | undefined = undefined
  for (const message of messages) {
    if (message.role === "tool") {
      if (results === undefined) {
        results = []
        wire.push({ role: "tool", content: results })
      }
      results.push(toolResultToWire(message))
      continue
    }
    results = undefined
    const text: TextPart = { type: "text", text: message.content }
    const images = message.images
    const toolCalls = message.toolCalls
    const head: Array<FilePart | TextPart> = images === undefined || images.length === 0 ? [text] : [...images.map(fileToWire), text]
    wire.push({
      role: message.role,
      content: toolCalls === undefined || toolCalls.length === 0 ? head : [...head, ...toolCalls.map(toolCallToWire)]
    })
  }
  return { messages: wire }
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

const isPlainObject = (u: unknown): u is Record<string, unknown> => {
  if (typeof u !== "object" || u === null) return false
  const proto = Object.getPrototypeOf(u)
  return proto === Object.prototype || proto === null
}

const fail = (field: string, reason: string) => new InvalidArgumentError({ field, reason })

/** One tool call of an assistant message, checked; `field` names it (e.g. `chat[2].toolCalls[0]`). */
const checkToolCall = (u: unknown, field: string): InvalidArgumentError | undefined => {
  if (!isPlainObject(u)) {
    return fail(field, `must be a tool call ({ type: "function", name, id?, arguments? }), got ${typeName(u)}`)
  }
  for (const key of Object.keys(u)) {
    if (!TOOL_CALL_KEYS.has(key)) return fail(`${field}.${key}`, "is not a tool call field (expected type, name, id, arguments)")
  }
  if (u.type !== "function") return fail(`${field}.type`, `must be "function", got ${shown(u.type)}`)
  if (typeof u.name !== "string" || u.name === "") {
    return fail(`${field}.name`, `must be the tool's name, a non-empty string, got ${shown(u.name)}`)
  }
  if (u.id !== undefined && typeof u.id !== "string") return fail(`${field}.id`, `must be a string when given, got ${typeName(u.id)}`)
  if (u.arguments !== undefined && !isPlainObject(u.arguments)) {
    return fail(`${field}.arguments`, `must be an object of arguments when given, got ${typeName(u.arguments)}`)
  }
  return undefined
}

/** The tool fields of a message: each only on the role that carries it. */
const checkToolFields = (message: Record<string, unknown>, field: string): InvalidArgumentError | undefined => {
  const role = message.role as string
  const toolCalls = message.toolCalls
  if (toolCalls !== undefined) {
    if (!Array.isArray(toolCalls)) return fail(`${field}.toolCalls`, `must be an array of tool calls, got ${typeName(toolCalls)}`)
    if (toolCalls.length > 0 && role !== "assistant") {
      return fail(`${field}.toolCalls`, `only assistant messages carry tool calls (this is a "${role}" message)`)
    }
    for (let i = 0; i < toolCalls.length; i++) {
      const problem = checkToolCall(toolCalls[i], `${field}.toolCalls[${i}]`)
      if (problem !== undefined) return problem
    }
  }
  for (const key of ["toolCallId", "toolName"] as const) {
    const value = message[key]
    if (value === undefined) continue
    if (role !== "tool") {
      return fail(`${field}.${key}`, `only tool messages answer a tool call (this is a "${role}" message)`)
    }
    if (typeof value !== "string") return fail(`${field}.${key}`, `must be a string, got ${typeName(value)}`)
  }
  return undefined
}

/** One message, checked; `field` names it in errors (e.g. `chat[2]`). */
const checkMessage = (u: unknown, field: string): InvalidArgumentError | ChatMessageInput => {
  if (u instanceof ChatMessage) return u // checked when it was made
  if (typeof u !== "object" || u === null || Array.isArray(u)) {
    return fail(field, `must be a message ({ role, content }), got ${typeName(u)}`)
  }
  const message = u as Record<string, unknown>
  for (const key of Object.keys(message)) {
    if (!MESSAGE_KEYS.has(key)) {
      return fail(`${field}.${key}`, "is not a message field (expected role, content, images, toolCalls, toolCallId, toolName)")
    }
  }
  if (typeof message.role !== "string" || !ROLES.has(message.role)) {
    return fail(`${field}.role`, `must be "system", "user", "assistant" or "tool", got ${shown(message.role)}`)
  }
  if (typeof message.content !== "string") return fail(`${field}.content`, `must be a string, got ${typeName(message.content)}`)
  const images = message.images
  if (images !== undefined) {
    if (!Array.isArray(images)) return fail(`${field}.images`, `must be an array of FileHandles, got ${typeName(images)}`)
    if (images.length > 0 && message.role === "tool") return fail(`${field}.images`, "tool messages cannot carry images")
    for (let i = 0; i < images.length; i++) {
      const problem = checkFile(images[i])
      if (problem !== undefined) return fail(`${field}.images[${i}]`, problem)
    }
  }
  return checkToolFields(message, field) ?? (message as unknown as ChatMessageInput)
}

/**
 * A `ChatInput` as `ChatHistoryData`, or an `InvalidArgumentError` naming the bad field. A `Chat`
 * (and a `ChatMessage`) was checked when it was made; anything else is checked here.
 */
export const toHistory = (input: unknown, field = "chat"): Effect.Effect<ChatHistoryData, InvalidArgumentError> => {
  if (input instanceof Chat) {
    if (input.messages.length === 0) return Effect.fail(new InvalidArgumentError({ field, reason: "has no messages" }))
    return Effect.succeed(toWire(input.messages))
  }
  if (typeof input === "string") return Effect.succeed(toWire([{ role: "user", content: input }]))
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
  const messages: Array<ChatMessageInput> = []
  for (let i = 0; i < list.length; i++) {
    const checked = checkMessage(list[i], Array.isArray(input) ? `${field}[${i}]` : field)
    if (checked instanceof InvalidArgumentError) return Effect.fail(checked)
    messages.push(checked)
  }
  return Effect.succeed(toWire(messages))
}

/** A completion prompt: one user message, as the official 1.5.0 client sends it. */
export const promptHistory = (prompt: unknown): Effect.Effect<ChatHistoryData, InvalidArgumentError> =>
  typeof prompt === "string"
    ? Effect.succeed({ messages: [{ role: "user", content: [{ type: "text", text: prompt }] }] })
    : Effect.fail(new InvalidArgumentError({ field: "prompt", reason: `must be a string, got ${typeName(prompt)}` }))
