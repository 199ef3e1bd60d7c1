/**
 * Wire schemas of the inference endpoints, as the simulator reads them: `applyPromptTemplate` and
 * `uploadFileBase64` parameters (chat messages as `predict` reads them).
 *
 * @internal
 */
import * as Schema from "effect/Schema"
import { KVConfigStack } from "../../internal/protocol/kvConfig.js"
import { ModelSpecifier } from "../../internal/protocol/modelManagement.js"
import { ChatMessage, type ChatPart } from "./predictProtocol.js"

/** The file types a file part may carry. */
export const FileType = Schema.Literal("image", "text/plain", "application/pdf", "application/word", "text/other", "unknown")
export type FileType = typeof FileType.Type

/** A chat history as `applyPromptTemplate` and `predict` carry it. */
export const ChatHistoryData = Schema.Struct({ messages: Schema.Array(ChatMessage) })
export type ChatHistoryData = typeof ChatHistoryData.Type

/** A file part of a message. */
export type FilePart = Extract<ChatPart, { readonly type: "file" }>

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
