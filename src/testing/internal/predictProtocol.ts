/**
 * The server side of the prediction channels' creation parameters:
 * what the simulator accepts on `predict` and `completeRawText`. Validated as LM Studio's own
 * schemas do: roles and part types are checked per role.
 *
 * @internal
 */
import * as Schema from "effect/Schema"
import { KVConfigStack } from "../../internal/protocol/kvConfig.js"
import { ModelSpecifier } from "../../internal/protocol/modelManagement.js"

const TextPart = Schema.Struct({ type: Schema.Literal("text"), text: Schema.String })

const FilePart = Schema.Struct({
  type: Schema.Literal("file"),
  name: Schema.String,
  identifier: Schema.String,
  sizeBytes: Schema.Number,
  fileType: Schema.Literal("image", "text/plain", "application/pdf", "application/word", "text/other", "unknown")
})

const ToolCallRequestPart = Schema.Struct({
  type: Schema.Literal("toolCallRequest"),
  toolCallRequest: Schema.Struct({
    type: Schema.Literal("function"),
    name: Schema.String,
    id: Schema.optional(Schema.String),
    arguments: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.Unknown }))
  })
})

const ToolCallResultPart = Schema.Struct({
  type: Schema.Literal("toolCallResult"),
  content: Schema.String,
  toolCallId: Schema.optional(Schema.String),
  name: Schema.optional(Schema.String)
})

/** One chat message: the part types allowed depend on the role. */
export const ChatMessage = Schema.Union(
  Schema.Struct({ role: Schema.Literal("system", "user"), content: Schema.Array(Schema.Union(TextPart, FilePart)) }),
  Schema.Struct({
    role: Schema.Literal("assistant"),
    content: Schema.Array(Schema.Union(TextPart, FilePart, ToolCallRequestPart))
  }),
  Schema.Struct({ role: Schema.Literal("tool"), content: Schema.Array(ToolCallResultPart) })
)
export type ChatMessage = typeof ChatMessage.Type
export type ChatPart = ChatMessage["content"][number]

/** `predict`'s creation parameter. */
export const PredictParameter = Schema.Struct({
  modelSpecifier: ModelSpecifier,
  history: Schema.Struct({ messages: Schema.Array(ChatMessage) }),
  predictionConfigStack: KVConfigStack,
  fuzzyPresetIdentifier: Schema.optional(Schema.String),
  ignoreServerSessionConfig: Schema.optional(Schema.Boolean)
})
export type PredictParameter = typeof PredictParameter.Type

/** `completeRawText`'s creation parameter. */
export const CompleteRawTextParameter = Schema.Struct({
  modelSpecifier: ModelSpecifier,
  rawPrompt: Schema.String,
  predictionConfigStack: KVConfigStack,
  fuzzyPresetIdentifier: Schema.optional(Schema.String),
  ignoreServerSessionConfig: Schema.optional(Schema.Boolean)
})
export type CompleteRawTextParameter = typeof CompleteRawTextParameter.Type

/** The text of a message: its text parts and tool results, joined; file parts contribute nothing. */
export const messageText = (message: ChatMessage): string =>
  message.content.map((part) =>
    part.type === "text" ? part.text : part.type === "toolCallResult" ? part.content : ""
  ).join("")
