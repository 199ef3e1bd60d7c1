/**
 * LLMs: the handle type and the domain wiring behind `client.llm`.
 *
 * @since 0.1.0
 */
import * as LoadConfig from "./LoadConfig.js"
import { LlmInfo, LlmInstanceInfo } from "./ModelInfo.js"
import type { ModelHandle, ModelNamespace } from "./ModelNamespace.js"
import type { Domain } from "./internal/modelNamespace.js"

/**
 * A handle to a loaded LLM instance.
 *
 * @since 0.1.0
 * @category models
 */
export interface LlmHandle extends ModelHandle<LlmInstanceInfo, LoadConfig.LlmLoadConfig> {
  readonly _tag: "LlmHandle"
}

/**
 * `client.llm`.
 *
 * @since 0.1.0
 * @category models
 */
export type LlmNamespace = ModelNamespace<LlmHandle, LlmInfo, LlmInstanceInfo, LoadConfig.LlmLoadConfig>

/** @internal */
export const domain: Domain<LlmInfo, LlmInstanceInfo, LoadConfig.LlmLoadConfig, LlmHandle> = {
  name: "llm",
  noun: "LLM",
  info: LlmInfo,
  instanceInfo: LlmInstanceInfo,
  isInfo: (u) => typeof u === "object" && u !== null && (u as { type?: unknown }).type === "llm",
  validateConfig: LoadConfig.validateLlmLoadConfig,
  configToFields: LoadConfig.llmConfigToKVFields,
  configFromKV: LoadConfig.llmConfigFromKVConfig,
  contextLengthKey: "llm.load.contextLength",
  handleTag: "LlmHandle"
}
