/**
 * The server side of the prediction channels' creation parameters:
 * what the simulator accepts on `predict` and `completeRawText`. The chat history schema is the
 * one every inference endpoint shares (`wire.ts`): roles and part types are checked per role.
 *
 * @internal
 */
import * as Schema from "effect/Schema"
import { KVConfigStack } from "../../internal/protocol/kvConfig.js"
import { ModelSpecifier } from "../../internal/protocol/modelManagement.js"
import { ChatHistoryData, type ChatMessageData } from "./wire.js"

export type ChatMessage = ChatMessageData

/** `predict`'s creation parameter. */
export const PredictParameter = Schema.Struct({
  modelSpecifier: ModelSpecifier,
  history: ChatHistoryData,
  predictionConfigStack: KVConfigStack,
  fuzzyPresetIdentifier: Schema.optional(Schema.String),
  ignoreServerSessionConfig: Schema.optional(Schema.Boolean)
})

/** `completeRawText`'s creation parameter. */
export const CompleteRawTextParameter = Schema.Struct({
  modelSpecifier: ModelSpecifier,
  rawPrompt: Schema.String,
  predictionConfigStack: KVConfigStack,
  fuzzyPresetIdentifier: Schema.optional(Schema.String),
  ignoreServerSessionConfig: Schema.optional(Schema.Boolean)
})

/** The text of a message: its text parts and tool results, joined; file parts contribute nothing. */
export const messageText = (message: ChatMessage): string =>
  message.content.map((part) =>
    part.type === "text" ? part.text : part.type === "toolCallResult" ? part.content : ""
  ).join("")
