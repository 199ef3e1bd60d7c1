/**
 * Embedding models: the handle type and the type of `client.embedding`.
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import type { LMStudioError } from "./LMStudioError.js"
import type * as LoadConfig from "./LoadConfig.js"
import type { EmbeddingModelInfo, EmbeddingModelInstanceInfo } from "./ModelInfo.js"
import type { ModelHandle, ModelNamespace } from "./ModelNamespace.js"
import type { TokenOperations } from "./Tokenization.js"

/**
 * Options of `embed(texts)`.
 *
 * @since 0.2.0
 * @category models
 */
export interface EmbedOptions {
  /**
   * How many texts are embedded at once (one request each; LM Studio has no batch endpoint).
   * Default: the client's `embedConcurrency` (16).
   */
  readonly concurrency?: number | undefined
}

/**
 * A handle to a loaded embedding model instance.
 *
 * @since 0.1.0
 * @category models
 */
export interface EmbeddingHandle
  extends ModelHandle<EmbeddingModelInstanceInfo, LoadConfig.EmbeddingLoadConfig>, TokenOperations
{
  readonly _tag: "EmbeddingHandle"
  /**
   * The embedding vector of a text; for several texts, one vector each, in input order. Texts
   * must be non-empty strings (checked before anything is sent).
   */
  readonly embed: {
    (text: string): Effect.Effect<ReadonlyArray<number>, LMStudioError>
    (
      texts: ReadonlyArray<string>,
      options?: EmbedOptions
    ): Effect.Effect<ReadonlyArray<ReadonlyArray<number>>, LMStudioError>
  }
}

/**
 * `client.embedding`.
 *
 * @since 0.1.0
 * @category models
 */
export type EmbeddingNamespace = ModelNamespace<
  EmbeddingHandle,
  EmbeddingModelInfo,
  EmbeddingModelInstanceInfo,
  LoadConfig.EmbeddingLoadConfig
>
