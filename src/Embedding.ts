/**
 * Embedding models: the handle type and the domain wiring behind `client.embedding`.
 *
 * @since 0.1.0
 */
import * as LoadConfig from "./LoadConfig.js"
import { EmbeddingModelInfo, EmbeddingModelInstanceInfo } from "./ModelInfo.js"
import type { ModelHandle, ModelNamespace } from "./ModelNamespace.js"
import type { Domain } from "./internal/modelNamespace.js"

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

/** @internal */
export const domain: Domain<
  EmbeddingModelInfo,
  EmbeddingModelInstanceInfo,
  LoadConfig.EmbeddingLoadConfig,
  EmbeddingHandle
> = {
  name: "embedding",
  noun: "embedding model",
  info: EmbeddingModelInfo,
  instanceInfo: EmbeddingModelInstanceInfo,
  isInfo: (u) => typeof u === "object" && u !== null && (u as { type?: unknown }).type === "embedding",
  validateConfig: LoadConfig.validateEmbeddingLoadConfig,
  configToFields: LoadConfig.embeddingConfigToKVFields,
  configFromKV: LoadConfig.embeddingConfigFromKVConfig,
  contextLengthKey: "embedding.load.contextLength",
  handleTag: "EmbeddingHandle"
}
