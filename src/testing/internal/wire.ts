/**
 * Wire schemas of the inference endpoints, as the simulator reads them: chat history
 * (`ChatHistoryData`), `applyPromptTemplate` and `uploadFileBase64` parameters.
 *
 * @internal
 */
import * as Schema from "effect/Schema"
import { KVConfigStack } from "../../internal/protocol/kvConfig.js"
import { ModelSpecifier } from "../../internal/protocol/modelManagement.js"

/** The file types a file part may carry. */
export const FileType = Schema.Literal("image", "text/plain", "application/pdf", "application/word", "text/other", "unknown")
export type FileType = typeof FileType.Type

export const TextPart = Schema.Struct({ type: Schema.Literal("text"), text: Schema.String })

export const FilePart = Schema.Struct({
  type: Schema.Literal("file"),
  name: Schema.String,
  identifier: Schema.String,
  sizeBytes: Schema.Number,
  fileType: FileType
})
export type FilePart = typeof FilePart.Type

export const ToolCallRequestPart = Schema.Struct({
  type: Schema.Literal("toolCallRequest"),
  toolCallRequest: Schema.Struct({
    type: Schema.Literal("function"),
    name: Schema.String,
    id: Schema.optional(Schema.String),
    arguments: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.Unknown }))
  })
})

export const ToolCallResultPart = Schema.Struct({
  type: Schema.Literal("toolCallResult"),
  content: Schema.String,
  toolCallId: Schema.optional(Schema.String),
  name: Schema.optional(Schema.String)
})

/** One message; the allowed part types depend on the role. */
export const ChatMessageData = Schema.Union(
  Schema.Struct({ role: Schema.Literal("system", "user"), content: Schema.Array(Schema.Union(TextPart, FilePart)) }),
  Schema.Struct({
    role: Schema.Literal("assistant"),
    content: Schema.Array(Schema.Union(TextPart, FilePart, ToolCallRequestPart))
  }),
  Schema.Struct({ role: Schema.Literal("tool"), content: Schema.Array(ToolCallResultPart) })
)
export type ChatMessageData = typeof ChatMessageData.Type

export const ChatHistoryData = Schema.Struct({ messages: Schema.Array(ChatMessageData) })
export type ChatHistoryData = typeof ChatHistoryData.Type

/** A tool definition (`LLMTool`): only the function kind exists. */
export const ToolDefinition = Schema.Struct({
  type: Schema.Literal("function"),
  function: Schema.Struct({
    name: Schema.String,
    description: Schema.optional(Schema.String),
    parameters: Schema.optional(Schema.Unknown)
  })
})
export type ToolDefinition = typeof ToolDefinition.Type

export const ApplyPromptTemplateOptions = Schema.Struct({
  omitBosToken: Schema.optional(Schema.Boolean),
  omitEosToken: Schema.optional(Schema.Boolean),
  toolDefinitions: Schema.optional(Schema.Array(ToolDefinition))
})
export type ApplyPromptTemplateOptions = typeof ApplyPromptTemplateOptions.Type

export const ApplyPromptTemplateParameter = Schema.Struct({
  specifier: ModelSpecifier,
  history: ChatHistoryData,
  predictionConfigStack: KVConfigStack,
  opts: ApplyPromptTemplateOptions
})

export const UploadFileBase64Parameter = Schema.Struct({ name: Schema.String, contentBase64: Schema.String })
