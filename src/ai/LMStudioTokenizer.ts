/**
 * An `@effect/ai` `Tokenizer` backed by an LM Studio LLM: a prompt is formatted with the model's
 * prompt template (the exact text the model reads) and tokenized by the model's own tokenizer.
 *
 * `truncate` (from `@effect/ai`) tokenizes each message on its own, so the template's per-prompt
 * tokens (a start token, a default system preamble) count once per message: what it keeps is
 * on the safe side of the limit. Images in a prompt are uploaded on each `tokenize`.
 *
 * @since 0.2.0
 */
import * as Model from "@effect/ai/Model"
import * as Tokenizer from "@effect/ai/Tokenizer"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import { LMStudioClient } from "../LMStudioClient.js"
import type { LlmHandle } from "../Llm.js"
import type { LlmLoadConfig } from "../LoadConfig.js"
import type { ModelOptions } from "../ModelNamespace.js"
import { makeHandleCache } from "./internal/handleCache.js"
import { tokenizerService } from "./internal/tokenizer.js"

/**
 * Options of the tokenizer.
 *
 * @since 0.2.0
 * @category models
 */
export interface Options {
  /** Load options, used when the model is not loaded yet (a key only). */
  readonly load?: ModelOptions<LlmLoadConfig> | undefined
  /** A key only: unload the model when the layer's scope closes, if this tokenizer loaded it. */
  readonly unloadOnClose?: boolean | undefined
}

/**
 * The `Tokenizer` service for an LLM (a model key, got or loaded on first use, or a handle).
 *
 * @since 0.2.0
 * @category constructors
 */
export const make = (
  source: string | LlmHandle,
  options: Options = {}
): Effect.Effect<Tokenizer.Service, never, LMStudioClient | Scope.Scope> =>
  Effect.gen(function*() {
    const client = yield* LMStudioClient
    return tokenizerService(yield* makeHandleCache(source, client.llm, options), client.files)
  })

/**
 * The `Tokenizer` service as a layer.
 *
 * @since 0.2.0
 * @category layers
 */
export const layer = (
  source: string | LlmHandle,
  options?: Options
): Layer.Layer<Tokenizer.Tokenizer, never, LMStudioClient> => Layer.scoped(Tokenizer.Tokenizer, make(source, options))

/**
 * The tokenizer as an `@effect/ai` `Model` (provider `"lmstudio"`).
 *
 * @since 0.2.0
 * @category constructors
 */
export const model = (
  source: string | LlmHandle,
  options?: Options
): Model.Model<"lmstudio", Tokenizer.Tokenizer, LMStudioClient> => Model.make("lmstudio", layer(source, options))
