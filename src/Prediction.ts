/**
 * What a prediction produces: its events as they happen (`PredictionEvent`, emitted by
 * `respondStream` / `completeStream`) and its final `PredictionResult`.
 *
 * @since 0.2.0
 */
import * as Schema from "effect/Schema"
import { LlmInstanceInfo } from "./ModelInfo.js"

/**
 * Why a prediction stopped.
 *
 * - `eosFound`: the model ended its answer.
 * - `stopStringFound`: one of the stop strings appeared (it is not part of the answer).
 * - `maxPredictedTokensReached`: `maxTokens` was reached.
 * - `contextLengthReached`: the context is full (with `contextOverflowPolicy: "stopAtLimit"`).
 * - `toolCalls`: a tool-call stop string was generated.
 * - `userStopped`: the prediction was cancelled.
 * - `failed`, `modelUnloaded`: the prediction broke off (these fail with `PredictionFailedError`).
 *
 * @since 0.2.0
 * @category schemas
 */
export const StopReason = Schema.Literal(
  "userStopped",
  "modelUnloaded",
  "failed",
  "eosFound",
  "stopStringFound",
  "toolCalls",
  "maxPredictedTokensReached",
  "contextLengthReached"
)
/**
 * @since 0.2.0
 * @category models
 */
export type StopReason = typeof StopReason.Type

const optionalNumber = Schema.optional(Schema.Number)

/**
 * Statistics of a finished prediction. Token counts satisfy `total = prompt + predicted`; the
 * predicted count includes an end-of-sequence token, which is never part of the text.
 *
 * @since 0.2.0
 * @category schemas
 */
export const PredictionStats = Schema.Struct({
  stopReason: StopReason,
  /** The stop string that ended the prediction (`stopStringFound`, newer servers only). */
  stopString: Schema.optional(Schema.String),
  tokensPerSecond: optionalNumber,
  numGpuLayers: optionalNumber,
  timeToFirstTokenSec: optionalNumber,
  totalTimeSec: optionalNumber,
  promptTokensCount: optionalNumber,
  predictedTokensCount: optionalNumber,
  totalTokensCount: optionalNumber,
  /** Speculative decoding: the draft model used, and what became of its tokens. */
  usedDraftModelKey: Schema.optional(Schema.String),
  totalDraftTokensCount: optionalNumber,
  acceptedDraftTokensCount: optionalNumber,
  rejectedDraftTokensCount: optionalNumber,
  ignoredDraftTokensCount: optionalNumber
}).annotations({ identifier: "PredictionStats" })
/**
 * @since 0.2.0
 * @category models
 */
export type PredictionStats = typeof PredictionStats.Type

/**
 * A config as LM Studio reports it: the full dotted keys it used (`llm.prediction.temperature`, …).
 *
 * @since 0.2.0
 * @category schemas
 */
export const ReportedConfig = Schema.Struct({
  fields: Schema.Array(Schema.Struct({ key: Schema.String, value: Schema.optional(Schema.Unknown) }))
}).annotations({ identifier: "ReportedConfig" })
/**
 * @since 0.2.0
 * @category models
 */
export type ReportedConfig = typeof ReportedConfig.Type

/**
 * How much of the prompt was read from the cache, processed, or is still to be processed.
 *
 * @since 0.2.0
 * @category schemas
 */
export const PromptProcessingDetails = Schema.Struct({
  cachedTokenCount: Schema.Number,
  totalPromptTokenCount: Schema.Number,
  processedPromptTokenCount: Schema.Number,
  unprocessedPromptTokenCount: Schema.Number
}).annotations({ identifier: "PromptProcessingDetails" })
/**
 * @since 0.2.0
 * @category models
 */
export type PromptProcessingDetails = typeof PromptProcessingDetails.Type

/**
 * A tool call request, complete: the tool's `name`, the model's own call `id` when it gives one,
 * and the `arguments` object. Results carry them (`PredictionResult.toolCalls`) and assistant
 * chat messages send them back (`Chat.assistant(content, { toolCalls })`).
 *
 * @since 0.2.0
 * @category schemas
 */
export const ToolCallRequest = Schema.Struct({
  type: Schema.Literal("function"),
  name: Schema.String.pipe(Schema.minLength(1, { message: () => "a tool call needs a non-empty name" })),
  id: Schema.optional(Schema.String),
  arguments: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.Unknown }))
}).annotations({ identifier: "ToolCallRequest" })
/**
 * @since 0.2.0
 * @category models
 */
export type ToolCallRequest = typeof ToolCallRequest.Type

/**
 * The finished answer of `respond` / `complete`.
 *
 * `content` is everything the model generated; with reasoning parsing (on by default), the
 * reasoning section's text is also on `reasoningContent` and the rest on `nonReasoningContent`
 * (the tags themselves are in neither). For a structured prediction, `parsed` is the decoded
 * answer: typed by the Schema given as `structured`, or plain JSON for a JSON Schema object;
 * otherwise it is `undefined`. `toolCalls` lists the tool calls the model made (offer tools
 * with the `rawTools` config).
 *
 * @since 0.2.0
 * @category models
 */
export class PredictionResult<out A = unknown> extends Schema.Class<PredictionResult<any>>(
  "lmstudio-effect/PredictionResult"
)({
  content: Schema.String,
  reasoningContent: Schema.String,
  nonReasoningContent: Schema.String,
  stats: PredictionStats,
  /** The instance that answered. */
  modelInfo: LlmInstanceInfo,
  /** The load config the instance ran with, as LM Studio reports it. */
  loadConfig: ReportedConfig,
  /** The prediction config LM Studio used (all layers merged), as it reports it. */
  predictionConfig: ReportedConfig,
  parsed: Schema.optional(Schema.Unknown),
  /**
   * The tool calls the model made, in order (one per `ToolCallEnd` event); empty when it made
   * none. `Chat.appendResult` keeps them in the history, ready for the tools' results.
   */
  toolCalls: Schema.optionalWith(Schema.Array(ToolCallRequest), { default: () => [] })
}) {
  declare readonly parsed: A
}

/**
 * Prompt processing progress, a fraction in [0, 1] that never decreases; only before the first token.
 *
 * @since 0.2.0
 * @category models
 */
export interface PromptProcessing {
  readonly _tag: "PromptProcessing"
  readonly progress: number
  /** Token counts behind the fraction (newer servers only). */
  readonly details: PromptProcessingDetails | undefined
}

/**
 * Whether a fragment is ordinary text, reasoning, or one of the reasoning section's tags.
 *
 * @since 0.2.0
 * @category models
 */
export type ReasoningType = "none" | "reasoning" | "reasoningStartTag" | "reasoningEndTag"

/**
 * A piece of the answer, in order; their contents joined are the result's `content`.
 *
 * @since 0.2.0
 * @category models
 */
export interface Fragment {
  readonly _tag: "Fragment"
  readonly content: string
  /** Tokens in this fragment (approximate per fragment, exact summed). */
  readonly tokensCount: number
  /** Whether it holds tokens of a speculative-decoding draft model. */
  readonly containsDrafted: boolean
  readonly reasoningType: ReasoningType
  /** Structural text (e.g. template markup), left out of `reasoningContent` and `nonReasoningContent`. */
  readonly isStructural: boolean
}

/**
 * The model started generating a tool call. `callId` numbers the calls of one prediction from 0;
 * `toolCallId` is the model's own id, when it gives one.
 *
 * @since 0.2.0
 * @category models
 */
export interface ToolCallStart {
  readonly _tag: "ToolCallStart"
  readonly callId: number
  readonly toolCallId: string | undefined
}

/**
 * The name of the tool being called (reported before `ToolCallEnd` even when the model does not
 * report it early).
 *
 * @since 0.2.0
 * @category models
 */
export interface ToolCallName {
  readonly _tag: "ToolCallName"
  readonly callId: number
  readonly name: string
}

/**
 * A piece of a tool call's arguments text (not necessarily valid JSON on its own).
 *
 * @since 0.2.0
 * @category models
 */
export interface ToolCallArguments {
  readonly _tag: "ToolCallArguments"
  readonly callId: number
  readonly content: string
}

/**
 * The model finished a tool call.
 *
 * @since 0.2.0
 * @category models
 */
export interface ToolCallEnd {
  readonly _tag: "ToolCallEnd"
  readonly callId: number
  readonly request: ToolCallRequest
  /** The call as the model wrote it. */
  readonly rawContent: string | undefined
}

/**
 * The model wrote a tool call that could not be parsed; the prediction goes on.
 *
 * @since 0.2.0
 * @category models
 */
export interface ToolCallFailed {
  readonly _tag: "ToolCallFailed"
  readonly callId: number
  /** What the server said was wrong. */
  readonly reason: string
  readonly rawContent: string | undefined
}

/**
 * The last event: the finished result.
 *
 * @since 0.2.0
 * @category models
 */
export interface Result<A = unknown> {
  readonly _tag: "Result"
  readonly result: PredictionResult<A>
}

/**
 * Any event of a prediction stream. Every stream that ends without an error ends with `Result`.
 *
 * @since 0.2.0
 * @category models
 */
export type PredictionEvent<A = unknown> =
  | PromptProcessing
  | Fragment
  | ToolCallStart
  | ToolCallName
  | ToolCallArguments
  | ToolCallEnd
  | ToolCallFailed
  | Result<A>

/**
 * Whether an event is a `Fragment` of the answer.
 *
 * @since 0.2.0
 * @category guards
 */
export const isFragment = <A>(event: PredictionEvent<A>): event is Fragment => event._tag === "Fragment"

/**
 * Whether an event is the final `Result`.
 *
 * @since 0.2.0
 * @category guards
 */
export const isResult = <A>(event: PredictionEvent<A>): event is Result<A> => event._tag === "Result"
