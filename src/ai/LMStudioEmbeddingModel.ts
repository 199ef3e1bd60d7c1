/**
 * An `@effect/ai` `EmbeddingModel` backed by an LM Studio embedding model.
 *
 * ```ts
 * const vectors = EmbeddingModel.EmbeddingModel.pipe(Effect.flatMap((m) => m.embedMany(["a", "b"])))
 * vectors.pipe(
 *   Effect.provide(LMStudioEmbeddingModel.model("text-embedding-nomic-embed-text-v1.5")),
 *   Effect.provide(LMStudioClient.layer())
 * )
 * ```
 *
 * @since 0.2.0
 */
import * as EmbeddingModel from "@effect/ai/EmbeddingModel"
import * as Model from "@effect/ai/Model"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import type { EmbeddingHandle } from "../Embedding.js"
import { LMStudioClient } from "../LMStudioClient.js"
import type { EmbeddingLoadConfig } from "../LoadConfig.js"
import type { ModelOptions } from "../ModelNamespace.js"
import { checkEmbeddingOptions } from "./internal/embeddingOptions.js"
import { toAiError } from "./internal/errors.js"
import { makeHandleCache } from "./internal/handleCache.js"

/**
 * Options of the provider.
 *
 * @since 0.2.0
 * @category models
 */
export interface Options {
  /** How many texts of a batch are embedded at once (LM Studio embeds one text per request). Default: the client's. */
  readonly concurrency?: number | undefined
  /** The most texts in one batch: larger `embedMany` calls (or windows) are split. Default: no limit. */
  readonly maxBatchSize?: number | undefined
  /**
   * Collect the `embed` calls made within this window (from any fiber) into one batch, as
   * `EmbeddingModel.makeDataLoader` does. Default: each `embed` / `embedMany` call is its own batch.
   */
  readonly window?: Duration.DurationInput | undefined
  /** Remember vectors of texts already embedded (not with `window`). Default: no cache. */
  readonly cache?: { readonly capacity: number; readonly timeToLive: Duration.DurationInput } | undefined
  /** Load options, used when the model is not loaded yet (a key only). */
  readonly load?: ModelOptions<EmbeddingLoadConfig> | undefined
  /** A key only: unload the model when the layer's scope closes, if this provider loaded it. */
  readonly unloadOnClose?: boolean | undefined
}

/**
 * The model to embed with: a model key (got or loaded on first use, and again if it is unloaded
 * later), the identifier of a loaded instance, or a handle (that instance only).
 *
 * @since 0.2.0
 * @category models
 */
export type ModelSource = string | EmbeddingHandle

/**
 * The `EmbeddingModel` service for a model. Nothing is loaded until the first request. Batching
 * follows `maxBatchSize` and `window`; `cache` skips texts embedded before.
 *
 * @since 0.2.0
 * @category constructors
 */
export const make = (
  source: ModelSource,
  options: Options = {}
): Effect.Effect<EmbeddingModel.Service, never, LMStudioClient | Scope.Scope> =>
  Effect.gen(function*() {
    const client = yield* LMStudioClient
    const cache = yield* makeHandleCache(source, client.embedding, options)
    const embedOptions = options.concurrency === undefined ? {} : { concurrency: options.concurrency }
    const toError = toAiError("LMStudioEmbeddingModel", "embedMany")
    const checked = yield* Effect.either(checkEmbeddingOptions(options))
    if (Either.isLeft(checked)) {
      const error = toError(checked.left)
      return yield* EmbeddingModel.make({ embedMany: () => Effect.fail(error) })
    }
    const embedMany = (texts: ReadonlyArray<string>) =>
      cache.use((handle) => handle.embed(texts, embedOptions)).pipe(
        Effect.map((vectors) => vectors.map((vector, index) => ({ index, embeddings: [...vector] }))),
        Effect.mapError(toError)
      )
    const maxBatchSize = options.maxBatchSize === undefined ? {} : { maxBatchSize: options.maxBatchSize }
    if (options.window !== undefined) {
      return yield* EmbeddingModel.makeDataLoader({ embedMany, window: options.window, ...maxBatchSize })
    }
    return yield* EmbeddingModel.make({
      embedMany,
      ...maxBatchSize,
      ...(options.cache === undefined ? {} : { cache: options.cache })
    })
  })

/**
 * The `EmbeddingModel` service as a layer.
 *
 * @since 0.2.0
 * @category layers
 */
export const layer = (
  source: ModelSource,
  options?: Options
): Layer.Layer<EmbeddingModel.EmbeddingModel, never, LMStudioClient> =>
  Layer.scoped(EmbeddingModel.EmbeddingModel, make(source, options))

/**
 * The model as an `@effect/ai` `Model` (provider `"lmstudio"`).
 *
 * @since 0.2.0
 * @category constructors
 */
export const model = (
  source: ModelSource,
  options?: Options
): Model.Model<"lmstudio", EmbeddingModel.EmbeddingModel, LMStudioClient> =>
  Model.make("lmstudio", layer(source, options))
