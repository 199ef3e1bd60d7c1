/**
 * lmstudio-effect: an Effect-native SDK for LM Studio's local model server.
 *
 * @since 0.1.0
 */

/**
 * The client service tag. Everything about the client hangs off it: its constructors (`make`,
 * `layer`, `layerConfig`) and configs (`baseUrlConfig`, `apiTokenConfig`) as statics, its types
 * (`LMStudioClient.Options`, `.Service`, `.SystemNamespace`) in its namespace. The testing entry
 * point exports `LMStudioSimulator` the same way.
 *
 * @since 0.1.0
 */
export { LMStudioClient } from "./LMStudioClient.js"

/**
 * Runs a program as the process's main fiber: Ctrl-C / SIGTERM interrupt it and its finalizers
 * run (scoped models are unloaded) before the process exits.
 *
 * @since 0.1.0
 */
export { runMain } from "./runMain.js"

/**
 * Convenience accessors: `Lms.llm()`, `Lms.embeddingModel()`, `Lms.listLoadedModels()`, …
 *
 * @since 0.1.0
 */
export * as Lms from "./Lms.js"

/**
 * LLM handles and the `client.llm` namespace type.
 *
 * @since 0.1.0
 */
export * as Llm from "./Llm.js"

/**
 * Embedding model handles and the `client.embedding` namespace type.
 *
 * @since 0.1.0
 */
export * as Embedding from "./Embedding.js"

/**
 * `tokenize` / `countTokens` (on LLM and embedding handles) and `contextUsage`: does a prompt fit?
 *
 * @since 0.2.0
 */
export * as Tokenization from "./Tokenization.js"

/**
 * `client.files`: image uploads for vision models.
 *
 * @since 0.2.0
 */
export * as Files from "./Files.js"

/**
 * `FileHandle`: an uploaded file that chat messages refer to.
 *
 * @since 0.2.0
 */
export * as FileHandle from "./FileHandle.js"

/**
 * Load configs (`LlmLoadConfig`, `EmbeddingLoadConfig`) as Schemas.
 *
 * @since 0.1.0
 */
export * as LoadConfig from "./LoadConfig.js"

/**
 * Load events emitted by the `...Stream` variants.
 *
 * @since 0.1.0
 */
export * as LoadEvent from "./LoadEvent.js"

/**
 * The prediction config of `respond` and `complete` (`PredictionConfig`) as a Schema.
 *
 * @since 0.1.0
 */
export * as PredictionConfig from "./PredictionConfig.js"

/**
 * Model and instance info Schemas.
 *
 * @since 0.1.0
 */
export * as ModelInfo from "./ModelInfo.js"

/**
 * The shared namespace and handle interfaces.
 *
 * @since 0.1.0
 */
export * as ModelNamespace from "./ModelNamespace.js"

/**
 * Tagged errors.
 *
 * @since 0.1.0
 */
export * as LMStudioError from "./LMStudioError.js"

/**
 * Conversations: the immutable `Chat` value and its messages.
 *
 * @since 0.2.0
 */
export * as Chat from "./Chat.js"

/**
 * Prediction results and events (`PredictionResult`, `PredictionEvent`, stats).
 *
 * @since 0.2.0
 */
export * as Prediction from "./Prediction.js"
