/**
 * An `@effect/ai` `LanguageModel` backed by an LM Studio LLM, so programs written against
 * `@effect/ai` run on LM Studio unchanged.
 *
 * ```ts
 * const program = LanguageModel.generateText({ prompt: "Say hi" })
 * program.pipe(
 *   Effect.provide(LMStudioLanguageModel.model("qwen2.5-7b-instruct")),
 *   Effect.provide(LMStudioClient.layer())
 * )
 * ```
 *
 * @since 0.2.0
 */
import { IdGenerator } from "@effect/ai/IdGenerator"
import * as LanguageModel from "@effect/ai/LanguageModel"
import * as Model from "@effect/ai/Model"
import type * as Response from "@effect/ai/Response"
import * as Tokenizer from "@effect/ai/Tokenizer"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Tracer from "effect/Tracer"
import { LMStudioClient } from "../LMStudioClient.js"
import type { LlmHandle } from "../Llm.js"
import type { LlmLoadConfig } from "../LoadConfig.js"
import type { ModelOptions } from "../ModelNamespace.js"
import type { StopReason } from "../Prediction.js"
import { type PredictionConfig, validatePredictionConfig } from "../PredictionConfig.js"
import { malformedInput, toAiError } from "./internal/errors.js"
import { type HandleCache, makeHandleCache } from "./internal/handleCache.js"
import { makeStreamMapper, metadataPart, resultParts } from "./internal/parts.js"
import { hasFiles, promptToChat } from "./internal/prompt.js"
import { requestConfig } from "./internal/request.js"
import { annotateRequest, annotateResult } from "./internal/telemetry.js"
import { tokenizerService } from "./internal/tokenizer.js"

const MODULE = "LMStudioLanguageModel"

declare module "@effect/ai/Response" {
  /**
   * What LM Studio adds to a `finish` part: its own stop reason (`eosFound`, `stopStringFound`,
   * `maxPredictedTokensReached`, …) and speed.
   *
   * @since 0.2.0
   */
  export interface FinishPartMetadata {
    readonly lmstudio?: {
      readonly stopReason: StopReason
      readonly tokensPerSecond?: number | undefined
      readonly timeToFirstTokenSec?: number | undefined
    } | undefined
  }
}

/**
 * Prediction settings for the requests of an effect (see {@link withConfigOverride}); they
 * apply over the provider's own `config`.
 *
 * @since 0.2.0
 * @category context
 */
export class Config extends Context.Tag("lmstudio-effect/ai/LMStudioLanguageModel/Config")<Config, PredictionConfig>() {}

/**
 * Options of the provider.
 *
 * @since 0.2.0
 * @category models
 */
export interface Options {
  /** Prediction settings of every request (temperature, maxTokens, …); the request's tools and response format go on top. */
  readonly config?: PredictionConfig | undefined
  /** Load options, used when the model is not loaded yet (a key only: the model is got or loaded on first use). */
  readonly load?: ModelOptions<LlmLoadConfig> | undefined
  /**
   * A key only: unload the model when the layer's scope closes, if this provider loaded it
   * (as `modelScoped` does). Default: it stays loaded.
   */
  readonly unloadOnClose?: boolean | undefined
  /** A preset of LM Studio's to apply under `config`. */
  readonly preset?: string | undefined
  /** Cancel a prediction when no progress or token arrives for this long (default: the client's). */
  readonly predictionInactivityTimeout?: Duration.DurationInput | undefined
}

/**
 * The model to answer with: a model key (got or loaded on first use; if its instance is unloaded
 * later, the next request loads it again), the identifier of a loaded instance, or a handle (that
 * instance only: once it is gone, requests fail with an `UnknownError` caused by `ModelNotFoundError`).
 *
 * @since 0.2.0
 * @category models
 */
export type ModelSource = string | LlmHandle

/**
 * The `LanguageModel` service for a model. Nothing is loaded until the first request; with
 * `unloadOnClose`, what it loaded is unloaded when the scope closes.
 *
 * @since 0.2.0
 * @category constructors
 */
export const make = (
  source: ModelSource,
  options: Options = {}
): Effect.Effect<LanguageModel.Service, never, LMStudioClient | Scope.Scope> =>
  Effect.gen(function*() {
    const client = yield* LMStudioClient
    return yield* makeService(client, yield* makeHandleCache(source, client.llm, options), source, options)
  })

const makeService = (
  client: LMStudioClient.Service,
  cache: HandleCache<LlmHandle>,
  source: ModelSource,
  options: Options
): Effect.Effect<LanguageModel.Service> =>
  Effect.gen(function*() {
    const prepare = (method: string, providerOptions: LanguageModel.ProviderOptions) =>
      Effect.gen(function*() {
        const override = yield* Effect.serviceOption(Config)
        const base = Option.isSome(override) ? { ...options.config, ...override.value } : options.config
        const config = yield* Effect.mapError(
          requestConfig(base, providerOptions),
          (problem) => malformedInput(MODULE, method, problem)
        )
        // `respond` checks the config before any I/O of its own; a prompt with files uploads
        // them first, so then the config is checked here, before the uploads.
        if (hasFiles(providerOptions.prompt)) {
          yield* Effect.mapError(validatePredictionConfig(config), toAiError(MODULE, method))
        }
        const chat = yield* promptToChat(providerOptions.prompt, client.files, MODULE, method)
        const predictionOptions = {
          config,
          ...(options.preset === undefined ? {} : { preset: options.preset }),
          ...(options.predictionInactivityTimeout === undefined
            ? {}
            : { predictionInactivityTimeout: options.predictionInactivityTimeout })
        }
        const prefix = yield* Effect.flatMap(IdGenerator, (ids) => ids.generateId())
        annotateRequest(providerOptions.span, typeof source === "string" ? source : source.modelKey, config)
        return { chat, predictionOptions, prefix }
      })

    const generateText = (providerOptions: LanguageModel.ProviderOptions) =>
      Effect.gen(function*() {
        const { chat, predictionOptions, prefix } = yield* prepare("generateText", providerOptions)
        const timestamp = new Date()
        const { handle, result } = yield* cache.use((handle) =>
          Effect.map(handle.respond(chat, predictionOptions), (result) => ({ handle, result }))
        ).pipe(Effect.mapError(toAiError(MODULE, "generateText")))
        const { finish, parts } = resultParts(result, prefix, metadataPart(handle.modelKey, prefix, timestamp))
        annotateResult(providerOptions.span, prefix, handle.modelKey, finish)
        return parts
      })

    const streamText = (providerOptions: LanguageModel.ProviderOptions) =>
      Stream.unwrap(Effect.gen(function*() {
        const { chat, predictionOptions, prefix } = yield* prepare("streamText", providerOptions)
        const toParts = makeStreamMapper(prefix)
        let metadataSent = false
        const parts = cache.useStream((handle) =>
          handle.respondStream(chat, predictionOptions).pipe(
            Stream.mapConcat((event): ReadonlyArray<Response.StreamPartEncoded> => {
              const mapped = toParts(event)
              const finish = mapped.at(-1)
              if (finish?.type === "finish") annotateResult(providerOptions.span, prefix, handle.modelKey, finish)
              if (metadataSent) return mapped
              metadataSent = true
              return [metadataPart(handle.modelKey, prefix, new Date()), ...mapped]
            })
          )
        )
        return Stream.mapError(parts, toAiError(MODULE, "streamText"))
      })).pipe(
        // @effect/ai parents `generateText`'s work to its request span, but not a stream's: do it here.
        Stream.provideService(Tracer.ParentSpan, providerOptions.span)
      )

    return yield* LanguageModel.make({ generateText, streamText })
  })

/**
 * The `LanguageModel` service as a layer.
 *
 * @since 0.2.0
 * @category layers
 */
export const layer = (
  source: ModelSource,
  options?: Options
): Layer.Layer<LanguageModel.LanguageModel, never, LMStudioClient> =>
  Layer.scoped(LanguageModel.LanguageModel, make(source, options))

/**
 * The model as an `@effect/ai` `Model` (provider `"lmstudio"`): provide it to a program that uses
 * `LanguageModel`, together with `LMStudioClient.layer()`.
 *
 * @since 0.2.0
 * @category constructors
 */
export const model = (
  source: ModelSource,
  options?: Options
): Model.Model<"lmstudio", LanguageModel.LanguageModel, LMStudioClient> => Model.make("lmstudio", layer(source, options))

/**
 * The `LanguageModel` and a `Tokenizer` of the same model (one instance for both) as a layer.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerWithTokenizer = (
  source: ModelSource,
  options: Options = {}
): Layer.Layer<LanguageModel.LanguageModel | Tokenizer.Tokenizer, never, LMStudioClient> =>
  Layer.scopedContext(Effect.gen(function*() {
    const client = yield* LMStudioClient
    const cache = yield* makeHandleCache(source, client.llm, options)
    const languageModel = yield* makeService(client, cache, source, options)
    return Context.make(LanguageModel.LanguageModel, languageModel).pipe(
      Context.add(Tokenizer.Tokenizer, tokenizerService(cache, client.files))
    )
  }))

/**
 * The model as an `@effect/ai` `Model` that provides `LanguageModel` and `Tokenizer`.
 *
 * @since 0.2.0
 * @category constructors
 */
export const modelWithTokenizer = (
  source: ModelSource,
  options?: Options
): Model.Model<"lmstudio", LanguageModel.LanguageModel | Tokenizer.Tokenizer, LMStudioClient> =>
  Model.make("lmstudio", layerWithTokenizer(source, options))

/**
 * Runs an effect with extra prediction settings for its requests (over the provider's `config`).
 *
 * @since 0.2.0
 * @category configuration
 */
export const withConfigOverride: {
  (config: PredictionConfig): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  <A, E, R>(self: Effect.Effect<A, E, R>, config: PredictionConfig): Effect.Effect<A, E, R>
} = dual(2, <A, E, R>(self: Effect.Effect<A, E, R>, config: PredictionConfig): Effect.Effect<A, E, R> =>
  Effect.flatMap(Effect.serviceOption(Config), (current) =>
    Effect.provideService(self, Config, Option.isSome(current) ? { ...current.value, ...config } : config)))
