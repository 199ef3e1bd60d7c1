/**
 * Accessors in the convenience style of LM Studio's guide (`lms.llm()`), for programs that have an
 * `LMStudioClient` in context.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import type { EmbeddingHandle } from "./Embedding.js"
import type { LMStudioError } from "./LMStudioError.js"
import { LMStudioClient } from "./LMStudioClient.js"
import type { LlmHandle } from "./Llm.js"
import type { EmbeddingLoadConfig, LlmLoadConfig } from "./LoadConfig.js"
import type { ModelInfo } from "./ModelInfo.js"
import type { ModelOptions } from "./ModelNamespace.js"

/**
 * Any loaded LLM, or — with a key — that model, loaded if needed (`options` apply with a key).
 *
 * @since 0.1.0
 * @category accessors
 */
export const llm = (
  key?: string,
  options?: ModelOptions<LlmLoadConfig>
): Effect.Effect<LlmHandle, LMStudioError, LMStudioClient> =>
  Effect.flatMap(LMStudioClient, (client) => key === undefined ? client.llm.model() : client.llm.model(key, options))

/**
 * Any loaded embedding model, or — with a key — that model, loaded if needed (`options` apply
 * with a key).
 *
 * @since 0.1.0
 * @category accessors
 */
export const embeddingModel = (
  key?: string,
  options?: ModelOptions<EmbeddingLoadConfig>
): Effect.Effect<EmbeddingHandle, LMStudioError, LMStudioClient> =>
  Effect.flatMap(
    LMStudioClient,
    (client) => key === undefined ? client.embedding.model() : client.embedding.model(key, options)
  )

/**
 * Every loaded model instance, LLMs first, then embedding models.
 *
 * @since 0.1.0
 * @category accessors
 */
export const listLoadedModels = (): Effect.Effect<
  ReadonlyArray<LlmHandle | EmbeddingHandle>,
  LMStudioError,
  LMStudioClient
> =>
  Effect.flatMap(LMStudioClient, (client) =>
    Effect.map(
      Effect.all([client.llm.listLoaded(), client.embedding.listLoaded()], { concurrency: 2 }),
      ([llms, embeddings]) => [...llms, ...embeddings]
    ))

/**
 * Every downloaded model.
 *
 * @since 0.1.0
 * @category accessors
 */
export const listDownloadedModels = (
  domain?: "llm" | "embedding"
): Effect.Effect<ReadonlyArray<ModelInfo>, LMStudioError, LMStudioClient> =>
  Effect.flatMap(LMStudioClient, (client) => client.system.listDownloadedModels(domain))
