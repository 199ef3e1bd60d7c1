/**
 * `lmstudio-effect/ai`: an `@effect/ai` provider (language model, embedding model, tokenizer)
 * backed by LM Studio. Install `@effect/ai` (with its peers `@effect/experimental` and
 * `@effect/rpc`) to use it; the rest of the package never imports it.
 *
 * @since 0.2.0
 */

/**
 * @since 0.2.0
 */
export * as LMStudioEmbeddingModel from "./LMStudioEmbeddingModel.js"

/**
 * @since 0.2.0
 */
export * as LMStudioLanguageModel from "./LMStudioLanguageModel.js"

/**
 * @since 0.2.0
 */
export * as LMStudioTokenizer from "./LMStudioTokenizer.js"
