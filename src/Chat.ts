/**
 * Conversations: an immutable `Chat` of system, user, assistant and tool messages.
 *
 * ```ts
 * const chat = Chat.make(Chat.system("You are terse."), Chat.user("Say hi"))
 * const next = chat.pipe(Chat.appendAssistant("Hi."), Chat.appendUser("Again"))
 * ```
 *
 * Tool use: an assistant message carries the tool calls the model made (`toolCalls`), and a
 * `tool` message carries one call's result (its `content`, e.g. `JSON.stringify(value)`, plus the
 * call's `toolCallId` and `toolName`). A tool loop appends both and asks again:
 *
 * ```ts
 * const result = yield* model.respond(chat, { config: { rawTools } })
 * let next = Chat.appendResult(chat, result) // the answer and its tool calls
 * for (const call of result.toolCalls) {
 *   const value = yield* runTool(call.name, call.arguments ?? {})
 *   next = Chat.appendToolResult(next, JSON.stringify(value), { toolCallId: call.id, toolName: call.name })
 * }
 * const answer = yield* model.respond(next, { config: { rawTools } }) // answers from the results
 * ```
 *
 * LM Studio receives an assistant message as its text followed by one tool call request per
 * call, and consecutive tool messages as one message with one result per call, in order: what
 * the official client's `act` sends.
 *
 * Wherever a chat is expected, a plain string (one user message) or an array of
 * `{ role, content }` objects is accepted too (`ChatInput`).
 *
 * @since 0.2.0
 */
import * as Equal from "effect/Equal"
import { dual } from "effect/Function"
import * as Hash from "effect/Hash"
import { type Pipeable, pipeArguments } from "effect/Pipeable"
import * as Schema from "effect/Schema"
import * as Utils from "effect/Utils"
import { FileHandle } from "./FileHandle.js"
import { type PredictionResult, ToolCallRequest } from "./Prediction.js"

/**
 * Who wrote a message: `tool` messages hold the result of a tool call.
 *
 * @since 0.2.0
 * @category schemas
 */
export const Role = Schema.Literal("system", "user", "assistant", "tool")
/**
 * @since 0.2.0
 * @category models
 */
export type Role = typeof Role.Type

const sameItems = <A>(self: ReadonlyArray<A>, that: ReadonlyArray<A>, same: (a: A, b: A) => boolean = Equal.equals): boolean =>
  self.length === that.length && self.every((item, i) => same(item, that[i] as A))

/** Tool calls are plain objects: their arguments are compared structurally. */
const sameToolCall = (self: ToolCallRequest, that: ToolCallRequest): boolean =>
  self.name === that.name && self.id === that.id &&
  (self.arguments === that.arguments || Utils.structuralRegion(() => Equal.equals(self.arguments, that.arguments)))

/** Equal tool calls have equal names and ids (arguments are left out of the hash). */
const hashToolCall = (call: ToolCallRequest): number =>
  Hash.combine(Hash.string(call.id ?? ""))(Hash.string(call.name))

const optionalHash = (value: string | undefined): number => (value === undefined ? 0 : Hash.string(value))

/** The field of a message that its role cannot carry, or `undefined`. */
const misplacedField = (message: {
  readonly role: Role
  readonly images: ReadonlyArray<unknown>
  readonly toolCalls: ReadonlyArray<unknown>
  readonly toolCallId?: string | undefined
  readonly toolName?: string | undefined
}): { readonly path: ReadonlyArray<string>; readonly message: string } | undefined => {
  if (message.toolCalls.length > 0 && message.role !== "assistant") {
    return { path: ["toolCalls"], message: "only assistant messages carry tool calls" }
  }
  if (message.role !== "tool") {
    if (message.toolCallId !== undefined) return { path: ["toolCallId"], message: "only tool messages answer a tool call" }
    if (message.toolName !== undefined) return { path: ["toolName"], message: "only tool messages answer a tool call" }
  } else if (message.images.length > 0) {
    return { path: ["images"], message: "tool messages cannot carry images" }
  }
  return undefined
}

/**
 * One message: its role, its text and (for vision models) images uploaded with
 * `client.files.prepareImage`. An assistant message also carries the tool calls the model made
 * (`toolCalls`); a `tool` message's `content` is one call's result, and `toolCallId` /
 * `toolName` name the call it answers.
 *
 * @since 0.2.0
 * @category models
 */
export class ChatMessage extends Schema.Class<ChatMessage>("lmstudio-effect/ChatMessage")(
  Schema.Struct({
    role: Role,
    content: Schema.String,
    images: Schema.optionalWith(Schema.Array(FileHandle), { default: () => [] }),
    /** The tool calls of an assistant message, in order. */
    toolCalls: Schema.optionalWith(Schema.Array(ToolCallRequest), { default: () => [] }),
    /** The id of the tool call a `tool` message answers (when the model gave one). */
    toolCallId: Schema.optional(Schema.String),
    /** The name of the tool whose result a `tool` message holds. */
    toolName: Schema.optional(Schema.String)
  }).pipe(Schema.filter((message) => misplacedField(message)))
) {
  /** @since 0.2.0 */
  [Equal.symbol](that: Equal.Equal): boolean {
    return that instanceof ChatMessage && this.role === that.role && this.content === that.content &&
      this.toolCallId === that.toolCallId && this.toolName === that.toolName &&
      sameItems(this.images, that.images) && sameItems(this.toolCalls, that.toolCalls, sameToolCall)
  }
  /** @since 0.2.0 */
  [Hash.symbol](): number {
    return Hash.cached(
      this,
      Hash.array([
        Hash.string(this.role),
        Hash.string(this.content),
        Hash.array(this.images),
        Hash.array(this.toolCalls.map(hashToolCall)),
        optionalHash(this.toolCallId),
        optionalHash(this.toolName)
      ])
    )
  }
}

/**
 * A message as a plain object, e.g. `{ role: "user", content: "Hi" }`. `toolCalls` belongs on
 * assistant messages only, `toolCallId` / `toolName` on tool messages only, and tool messages
 * carry no images.
 *
 * @since 0.2.0
 * @category models
 */
export interface ChatMessageInput {
  readonly role: Role
  readonly content: string
  readonly images?: ReadonlyArray<FileHandle> | undefined
  readonly toolCalls?: ReadonlyArray<ToolCallRequest> | undefined
  readonly toolCallId?: string | undefined
  readonly toolName?: string | undefined
}

/**
 * An immutable conversation. Two chats with the same messages are equal (`Equal.equals`).
 *
 * @since 0.2.0
 * @category models
 */
export class Chat extends Schema.Class<Chat>("lmstudio-effect/Chat")({
  messages: Schema.Array(ChatMessage)
}) {
  /** @since 0.2.0 */
  [Equal.symbol](that: Equal.Equal): boolean {
    return that instanceof Chat && sameItems(this.messages, that.messages)
  }
  /** @since 0.2.0 */
  [Hash.symbol](): number {
    return Hash.cached(this, Hash.array(this.messages))
  }
}

/**
 * Chats can be piped: `chat.pipe(Chat.appendUser("Hi"))`.
 *
 * @since 0.2.0
 */
export interface Chat extends Pipeable {}
Object.defineProperty(Chat.prototype, "pipe", {
  value(this: Chat) {
    // eslint-disable-next-line prefer-rest-params
    return pipeArguments(this, arguments)
  }
})

/**
 * Anything accepted where a chat is: a `Chat`, a string (one user message), one message, or an
 * array of messages (`ChatMessage`s or plain `{ role, content, images?, toolCalls?, toolCallId?,
 * toolName? }` objects).
 *
 * @since 0.2.0
 * @category models
 */
export type ChatInput = Chat | string | ChatMessage | ChatMessageInput | ReadonlyArray<ChatMessage | ChatMessageInput>

/**
 * Whether a value is a `Chat`.
 *
 * @since 0.2.0
 * @category guards
 */
export const isChat = (u: unknown): u is Chat => u instanceof Chat

const toMessage = (message: ChatMessage | ChatMessageInput): ChatMessage =>
  message instanceof ChatMessage
    ? message
    : new ChatMessage({
      role: message.role,
      content: message.content,
      images: message.images ?? [],
      toolCalls: message.toolCalls ?? [],
      ...(message.toolCallId === undefined ? undefined : { toolCallId: message.toolCallId }),
      ...(message.toolName === undefined ? undefined : { toolName: message.toolName })
    })

/**
 * A system prompt.
 *
 * @since 0.2.0
 * @category constructors
 */
export const system = (content: string): ChatMessage => new ChatMessage({ role: "system", content })

/**
 * A user message, optionally with images (from `client.files.prepareImage`).
 *
 * @since 0.2.0
 * @category constructors
 */
export const user = (content: string, options?: { readonly images?: ReadonlyArray<FileHandle> | undefined }): ChatMessage =>
  new ChatMessage({ role: "user", content, images: options?.images ?? [] })

/**
 * Options of an assistant message: the tool calls the model made, in order.
 *
 * @since 0.2.0
 * @category models
 */
export interface AssistantOptions {
  readonly toolCalls?: ReadonlyArray<ToolCallRequest> | undefined
}

/**
 * An assistant message (a previous answer), optionally with the tool calls the model made.
 *
 * @since 0.2.0
 * @category constructors
 */
export const assistant = (content: string, options?: AssistantOptions): ChatMessage =>
  new ChatMessage({ role: "assistant", content, toolCalls: options?.toolCalls ?? [] })

/**
 * Which tool call a tool result answers: the call's `id` (when the model gave one) and the
 * tool's `name`.
 *
 * @since 0.2.0
 * @category models
 */
export interface ToolResultOptions {
  readonly toolCallId?: string | undefined
  readonly toolName?: string | undefined
}

/**
 * A tool message: the result of one tool call (e.g. `JSON.stringify(value)`), answering the call
 * with this `toolCallId` / `toolName`.
 *
 * @since 0.2.0
 * @category constructors
 */
export const toolResult = (content: string, options?: ToolResultOptions): ChatMessage =>
  new ChatMessage({
    role: "tool",
    content,
    ...(options?.toolCallId === undefined ? undefined : { toolCallId: options.toolCallId }),
    ...(options?.toolName === undefined ? undefined : { toolName: options.toolName })
  })

/**
 * A chat of the given messages, in order.
 *
 * @since 0.2.0
 * @category constructors
 */
export const make = (...messages: ReadonlyArray<ChatMessage | ChatMessageInput>): Chat =>
  new Chat({ messages: messages.map(toMessage) })

/**
 * The chat with no messages.
 *
 * @since 0.2.0
 * @category constructors
 */
export const empty: Chat = make()

/**
 * The assistant message that records a result's answer: its text without the reasoning section
 * (what chat applications keep in the history) and the tool calls the model made.
 *
 * @since 0.2.0
 * @category constructors
 */
export const fromResult = (result: PredictionResult<unknown>): ChatMessage =>
  assistant(result.nonReasoningContent, { toolCalls: result.toolCalls })

/**
 * The chat with one more message at the end.
 *
 * @since 0.2.0
 * @category combinators
 */
export const append: {
  (message: ChatMessage | ChatMessageInput): (chat: Chat) => Chat
  (chat: Chat, message: ChatMessage | ChatMessageInput): Chat
} = dual(2, (chat: Chat, message: ChatMessage | ChatMessageInput): Chat =>
  new Chat({ messages: [...chat.messages, toMessage(message)] }))

/**
 * The chat with a system message appended.
 *
 * @since 0.2.0
 * @category combinators
 */
export const appendSystem: {
  (content: string): (chat: Chat) => Chat
  (chat: Chat, content: string): Chat
} = dual(2, (chat: Chat, content: string): Chat => append(chat, system(content)))

/**
 * The chat with a user message (optionally with images) appended.
 *
 * @since 0.2.0
 * @category combinators
 */
export const appendUser: {
  (content: string, options?: { readonly images?: ReadonlyArray<FileHandle> | undefined }): (chat: Chat) => Chat
  (chat: Chat, content: string, options?: { readonly images?: ReadonlyArray<FileHandle> | undefined }): Chat
} = dual(
  (args) => isChat(args[0]),
  (chat: Chat, content: string, options?: { readonly images?: ReadonlyArray<FileHandle> | undefined }): Chat =>
    append(chat, user(content, options))
)

/**
 * The chat with an assistant message (optionally with tool calls) appended.
 *
 * @since 0.2.0
 * @category combinators
 */
export const appendAssistant: {
  (content: string, options?: AssistantOptions): (chat: Chat) => Chat
  (chat: Chat, content: string, options?: AssistantOptions): Chat
} = dual(
  (args) => isChat(args[0]),
  (chat: Chat, content: string, options?: AssistantOptions): Chat => append(chat, assistant(content, options))
)

/**
 * The chat with a tool call's result appended as a tool message (see `toolResult`).
 * Consecutive tool messages reach LM Studio as one message with one result per call.
 *
 * @since 0.2.0
 * @category combinators
 */
export const appendToolResult: {
  (content: string, options?: ToolResultOptions): (chat: Chat) => Chat
  (chat: Chat, content: string, options?: ToolResultOptions): Chat
} = dual(
  (args) => isChat(args[0]),
  (chat: Chat, content: string, options?: ToolResultOptions): Chat => append(chat, toolResult(content, options))
)

/**
 * The chat with a result's answer and tool calls appended as an assistant message (see
 * `fromResult`), ready for the next user message or the tools' results.
 *
 * @since 0.2.0
 * @category combinators
 */
export const appendResult: {
  (result: PredictionResult<unknown>): (chat: Chat) => Chat
  (chat: Chat, result: PredictionResult<unknown>): Chat
} = dual(2, (chat: Chat, result: PredictionResult<unknown>): Chat => append(chat, fromResult(result)))
