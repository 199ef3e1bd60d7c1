/**
 * LLMs: the handle type (with `respond`, `complete` and their Stream variants) and the type of
 * `client.llm`.
 *
 * @since 0.1.0
 */
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Schema from "effect/Schema"
import type * as Stream from "effect/Stream"
import type { ChatInput } from "./Chat.js"
import type { LMStudioError } from "./LMStudioError.js"
import type * as LoadConfig from "./LoadConfig.js"
import type { LlmInfo, LlmInstanceInfo } from "./ModelInfo.js"
import type { ModelHandle, ModelNamespace } from "./ModelNamespace.js"
import type { PredictionConfig } from "./PredictionConfig.js"
import type { Fragment, PredictionEvent, PredictionResult, PromptProcessingDetails } from "./Prediction.js"
import type { TokenOperations } from "./Tokenization.js"

/**
 * A JSON Schema object, for `structured` (the answer is then parsed as plain JSON).
 *
 * @since 0.2.0
 * @category models
 */
export interface JsonSchema {
  readonly [key: string]: unknown
}

/**
 * Options of every prediction (`respond`, `complete` and their Stream variants).
 *
 * @since 0.2.0
 * @category models
 */
export interface PredictionOptions {
  /** Sampling and stopping settings (temperature, maxTokens, stopStrings, …), checked before anything is sent. */
  readonly config?: PredictionConfig | undefined
  /** A preset of LM Studio's to apply under `config` (its name; LM Studio matches it loosely). */
  readonly preset?: string | undefined
  /**
   * Cancel and fail with `PredictionTimeoutError` when no progress or token arrives for this long.
   * Default: the client's (5 minutes); `Duration.infinity` waits forever. Measured on the `Clock`
   * the client was made with (in tests, make the client where `TestClock` is provided).
   */
  readonly predictionInactivityTimeout?: Duration.DurationInput | undefined
}

/**
 * Callbacks of the Effect variants (`respond`, `complete`); the Stream variants emit the same
 * information as events.
 *
 * @since 0.2.0
 * @category models
 */
export interface PredictionCallbacks {
  /** Prompt processing progress in [0, 1], before the first token. */
  readonly onPromptProcessingProgress?:
    | ((progress: number, details: PromptProcessingDetails | undefined) => Effect.Effect<void>)
    | undefined
  /** Called once, when the first piece of the answer arrives. */
  readonly onFirstToken?: (() => Effect.Effect<void>) | undefined
  /** Every piece of the answer, in order. */
  readonly onFragment?: ((fragment: Fragment) => Effect.Effect<void>) | undefined
}

/**
 * Structured output with a Schema: the model is constrained to the JSON Schema made from it, and
 * the answer is decoded with it into `result.parsed` (or fails with `StructuredOutputError`).
 *
 * @since 0.2.0
 * @category models
 */
export interface StructuredBySchema<A, I> {
  readonly structured: Schema.Schema<A, I, never>
}

/**
 * Structured output with a JSON Schema object: `result.parsed` is the answer parsed as JSON.
 *
 * @since 0.2.0
 * @category models
 */
export interface StructuredByJsonSchema {
  readonly structured?: JsonSchema | undefined
}

/**
 * Options of `applyPromptTemplate`.
 *
 * @since 0.2.0
 * @category models
 */
export interface ApplyPromptTemplateOptions {
  /** Leave out the beginning-of-sequence token. */
  readonly omitBosToken?: boolean | undefined
  /** Leave out the end-of-sequence token. */
  readonly omitEosToken?: boolean | undefined
}

/**
 * A handle to a loaded LLM instance.
 *
 * @since 0.1.0
 * @category models
 */
export interface LlmHandle extends ModelHandle<LlmInstanceInfo, LoadConfig.LlmLoadConfig>, TokenOperations {
  readonly _tag: "LlmHandle"
  /**
   * The model's answer to a chat (a `Chat`, a string, or `[{ role, content }]`). Interrupting
   * the effect cancels the prediction on the server. A prediction the server ends as `failed` or
   * `modelUnloaded` fails with `PredictionFailedError`.
   */
  readonly respond: {
    <A, I>(
      chat: ChatInput,
      options: PredictionOptions & PredictionCallbacks & StructuredBySchema<A, I>
    ): Effect.Effect<PredictionResult<A>, LMStudioError>
    (
      chat: ChatInput,
      options?: PredictionOptions & PredictionCallbacks & StructuredByJsonSchema
    ): Effect.Effect<PredictionResult, LMStudioError>
  }
  /**
   * The answer as a Stream of events (prompt processing, fragments, tool-call generation) ending
   * with `Result`. Stopping the stream early cancels the prediction on the server.
   */
  readonly respondStream: {
    <A, I>(
      chat: ChatInput,
      options: PredictionOptions & StructuredBySchema<A, I>
    ): Stream.Stream<PredictionEvent<A>, LMStudioError>
    (
      chat: ChatInput,
      options?: PredictionOptions & StructuredByJsonSchema
    ): Stream.Stream<PredictionEvent, LMStudioError>
  }
  /**
   * Raw text completion: the model continues `prompt` as is, with no chat template (works on
   * every LM Studio version that serves predictions).
   */
  readonly complete: {
    <A, I>(
      prompt: string,
      options: PredictionOptions & PredictionCallbacks & StructuredBySchema<A, I>
    ): Effect.Effect<PredictionResult<A>, LMStudioError>
    (
      prompt: string,
      options?: PredictionOptions & PredictionCallbacks & StructuredByJsonSchema
    ): Effect.Effect<PredictionResult, LMStudioError>
  }
  /** `complete` as a Stream of events ending with `Result`; stopping early cancels. */
  readonly completeStream: {
    <A, I>(
      prompt: string,
      options: PredictionOptions & StructuredBySchema<A, I>
    ): Stream.Stream<PredictionEvent<A>, LMStudioError>
    (
      prompt: string,
      options?: PredictionOptions & StructuredByJsonSchema
    ): Stream.Stream<PredictionEvent, LMStudioError>
  }
  /** The chat formatted with the model's prompt template: the exact text the model would read. */
  readonly applyPromptTemplate: (
    chat: ChatInput,
    options?: ApplyPromptTemplateOptions
  ) => Effect.Effect<string, LMStudioError>
}

/**
 * `client.llm`.
 *
 * @since 0.1.0
 * @category models
 */
export type LlmNamespace = ModelNamespace<LlmHandle, LlmInfo, LlmInstanceInfo, LoadConfig.LlmLoadConfig>
