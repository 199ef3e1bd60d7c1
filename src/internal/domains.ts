/**
 * What differs between the LLM and embedding domains: schemas, load-config mapping, handle tag.
 *
 * @internal
 */
import type { EmbeddingHandle } from "../Embedding.js"
import type { LlmHandle } from "../Llm.js"
import * as LoadConfig from "../LoadConfig.js"
import { EmbeddingModelInfo, EmbeddingModelInstanceInfo, LlmInfo, LlmInstanceInfo } from "../ModelInfo.js"
import { embedOperation } from "./inference/embed.js"
import { tokenOperations } from "./inference/tokens.js"
import { compileDecoders, type Domain } from "./models/domain.js"
import { llmOperations } from "./predictions/operations.js"
import * as LoadConfigKV from "./protocol/loadConfigKV.js"

const hasType = (type: string) => (u: unknown) =>
  typeof u === "object" && u !== null && (u as { type?: unknown }).type === type

export const llm: Domain<LlmInfo, LlmInstanceInfo, LoadConfig.LlmLoadConfig, LlmHandle> = {
  name: "llm",
  noun: "LLM",
  decoders: compileDecoders(LlmInfo, LlmInstanceInfo),
  isInfo: hasType("llm"),
  validateConfig: LoadConfig.validateLlmLoadConfig,
  configToFields: LoadConfigKV.llmConfigToKVFields,
  configFromKV: LoadConfigKV.llmConfigFromKVConfig,
  contextLengthKey: "llm.load.contextLength",
  handleTag: "LlmHandle",
  operations: (context) => ({ ...tokenOperations(context), ...llmOperations(context) })
}

export const embedding: Domain<
  EmbeddingModelInfo,
  EmbeddingModelInstanceInfo,
  LoadConfig.EmbeddingLoadConfig,
  EmbeddingHandle
> = {
  name: "embedding",
  noun: "embedding model",
  decoders: compileDecoders(EmbeddingModelInfo, EmbeddingModelInstanceInfo),
  isInfo: hasType("embedding"),
  validateConfig: LoadConfig.validateEmbeddingLoadConfig,
  configToFields: LoadConfigKV.embeddingConfigToKVFields,
  configFromKV: LoadConfigKV.embeddingConfigFromKVConfig,
  contextLengthKey: "embedding.load.contextLength",
  handleTag: "EmbeddingHandle",
  operations: (context) => ({ ...tokenOperations(context), embed: embedOperation(context) })
}
