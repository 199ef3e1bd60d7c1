/**
 * Conversations: an immutable `Chat` of system, user and assistant messages.
 *
 * ```ts
 * const chat = Chat.make(Chat.system("You are terse."), Chat.user("Say hi"))
 * const next = chat.pipe(Chat.appendAssistant("Hi."), Chat.appendUser("Again"))
 * ```
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
import { FileHandle } from "./FileHandle.js"
import type { PredictionResult } from "./Prediction.js"

/**
 * Who wrote a message.
 *
 * @since 0.2.0
 * @category schemas
 */
export const Role = Schema.Literal("system", "user", "assistant")
/**
 * @since 0.2.0
 * @category models
 */
export type Role = typeof Role.Type

const sameItems = <A>(self: ReadonlyArray<A>, that: ReadonlyArray<A>): boolean =>
  self.length === that.length && self.every((item, i) => Equal.equals(item, that[i]))

/**
 * One message: its role, its text and (for vision models) images uploaded with
 * `client.files.prepareImage`.
 *
 * @since 0.2.0
 * @category models
 */
export class ChatMessage extends Schema.Class<ChatMessage>("lmstudio-effect/ChatMessage")({
  role: Role,
  content: Schema.String,
  images: Schema.optionalWith(Schema.Array(FileHandle), { default: () => [] })
}) {
  /** @since 0.2.0 */
  [Equal.symbol](that: Equal.Equal): boolean {
    return that instanceof ChatMessage && this.role === that.role && this.content === that.content &&
      sameItems(this.images, that.images)
  }
  /** @since 0.2.0 */
  [Hash.symbol](): number {
    return Hash.cached(this, Hash.combine(Hash.string(this.content))(Hash.combine(Hash.string(this.role))(Hash.array(this.images))))
  }
}

/**
 * A message as a plain object, e.g. `{ role: "user", content: "Hi" }`.
 *
 * @since 0.2.0
 * @category models
 */
export interface ChatMessageInput {
  readonly role: Role
  readonly content: string
  readonly images?: ReadonlyArray<FileHandle> | undefined
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
 * array of messages (`ChatMessage`s or plain `{ role, content, images? }` objects).
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
    : new ChatMessage({ role: message.role, content: message.content, images: message.images ?? [] })

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
 * An assistant message (a previous answer).
 *
 * @since 0.2.0
 * @category constructors
 */
export const assistant = (content: string): ChatMessage => new ChatMessage({ role: "assistant", content })

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
 * (what chat applications keep in the history).
 *
 * @since 0.2.0
 * @category constructors
 */
export const fromResult = (result: PredictionResult<unknown>): ChatMessage => assistant(result.nonReasoningContent)

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
 * The chat with an assistant message appended.
 *
 * @since 0.2.0
 * @category combinators
 */
export const appendAssistant: {
  (content: string): (chat: Chat) => Chat
  (chat: Chat, content: string): Chat
} = dual(2, (chat: Chat, content: string): Chat => append(chat, assistant(content)))

/**
 * The chat with a result's answer appended as an assistant message (see `fromResult`), ready
 * for the next user message.
 *
 * @since 0.2.0
 * @category combinators
 */
export const appendResult: {
  (result: PredictionResult<unknown>): (chat: Chat) => Chat
  (chat: Chat, result: PredictionResult<unknown>): Chat
} = dual(2, (chat: Chat, result: PredictionResult<unknown>): Chat => append(chat, fromResult(result)))
