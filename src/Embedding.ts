/**
 * Embedding models: the handle type and the type of `client.embedding`.
 *
 * @since 0.1.0
 */
import type * as LoadConfig from "./LoadConfig.js"
import type { EmbeddingModelInfo, EmbeddingModelInstanceInfo } from "./ModelInfo.js"
import type { ModelHandle, ModelNamespace } from "./ModelNamespace.js"

/**
 * A handle to a loaded embedding model instance.
 *
 * @since 0.1.0
 * @category models
 */
export interface EmbeddingHandle extends ModelHandle<EmbeddingModelInstanceInfo, LoadConfig.EmbeddingLoadConfig> {
  readonly _tag: "EmbeddingHandle"
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
