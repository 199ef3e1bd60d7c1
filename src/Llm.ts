/**
 * LLMs: the handle type and the type of `client.llm`.
 *
 * @since 0.1.0
 */
import type * as LoadConfig from "./LoadConfig.js"
import type { LlmInfo, LlmInstanceInfo } from "./ModelInfo.js"
import type { ModelHandle, ModelNamespace } from "./ModelNamespace.js"
import type { TokenOperations } from "./Tokenization.js"

/**
 * A handle to a loaded LLM instance.
 *
 * @since 0.1.0
 * @category models
 */
export interface LlmHandle extends ModelHandle<LlmInstanceInfo, LoadConfig.LlmLoadConfig>, TokenOperations {
  readonly _tag: "LlmHandle"
}

/**
 * `client.llm`.
 *
 * @since 0.1.0
 * @category models
 */
export type LlmNamespace = ModelNamespace<LlmHandle, LlmInfo, LlmInstanceInfo, LoadConfig.LlmLoadConfig>
