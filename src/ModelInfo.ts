/**
 * Schemas for what LM Studio reports about models: downloaded models (`LlmInfo`,
 * `EmbeddingModelInfo`) and loaded instances (`LlmInstanceInfo`, `EmbeddingModelInstanceInfo`).
 *
 * Fields that only newer LM Studio builds send (`publisher`, `indexedModelIdentifier`,
 * `deviceIdentifier`, `ttlMs`, `lastUsedTime`) are optional so that older servers decode too.
 * Unknown fields are ignored.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * File formats a model can come in.
 *
 * @since 0.1.0
 * @category models
 */
export const ModelFormat = Schema.Literal(
  "gguf",
  "safetensors",
  "onnx",
  "ggml",
  "pte",
  "mlx_placeholder",
  "torch_safetensors"
)
/**
 * @since 0.1.0
 * @category models
 */
export type ModelFormat = typeof ModelFormat.Type

/**
 * Quantization of a model's weights, e.g. `{ name: "Q4_K_M", bits: 4 }`.
 *
 * @since 0.1.0
 * @category models
 */
export const Quantization = Schema.Struct({ name: Schema.String, bits: Schema.Number })

const modelInfoBase = {
  modelKey: Schema.String,
  format: ModelFormat,
  displayName: Schema.String,
  publisher: Schema.optional(Schema.String),
  path: Schema.String,
  sizeBytes: Schema.Number,
  indexedModelIdentifier: Schema.optional(Schema.String),
  deviceIdentifier: Schema.optional(Schema.NullOr(Schema.String)),
  paramsString: Schema.optional(Schema.String),
  architecture: Schema.optional(Schema.String),
  quantization: Schema.optional(Quantization),
  variants: Schema.optional(Schema.Array(Schema.String)),
  selectedVariant: Schema.optional(Schema.String)
}

const instanceFields = {
  identifier: Schema.String,
  instanceReference: Schema.String,
  ttlMs: Schema.optional(Schema.NullOr(Schema.Number)),
  lastUsedTime: Schema.optional(Schema.NullOr(Schema.Number))
}

const llmFields = {
  type: Schema.Literal("llm"),
  vision: Schema.Boolean,
  trainedForToolUse: Schema.Boolean,
  maxContextLength: Schema.Number
}

const embeddingFields = {
  type: Schema.Literal("embedding"),
  maxContextLength: Schema.Number
}

/**
 * A downloaded LLM.
 *
 * @since 0.1.0
 * @category models
 */
export const LlmInfo = Schema.Struct({ ...modelInfoBase, ...llmFields })
/**
 * @since 0.1.0
 * @category models
 */
export type LlmInfo = typeof LlmInfo.Type

/**
 * A downloaded embedding model.
 *
 * @since 0.1.0
 * @category models
 */
export const EmbeddingModelInfo = Schema.Struct({ ...modelInfoBase, ...embeddingFields })
/**
 * @since 0.1.0
 * @category models
 */
export type EmbeddingModelInfo = typeof EmbeddingModelInfo.Type

/**
 * A loaded LLM instance.
 *
 * @since 0.1.0
 * @category models
 */
export const LlmInstanceInfo = Schema.Struct({
  ...modelInfoBase,
  ...llmFields,
  ...instanceFields,
  contextLength: Schema.Number
})
/**
 * @since 0.1.0
 * @category models
 */
export type LlmInstanceInfo = typeof LlmInstanceInfo.Type

/**
 * A loaded embedding model instance.
 *
 * @since 0.1.0
 * @category models
 */
export const EmbeddingModelInstanceInfo = Schema.Struct({
  ...modelInfoBase,
  ...embeddingFields,
  ...instanceFields,
  contextLength: Schema.Number
})
/**
 * @since 0.1.0
 * @category models
 */
export type EmbeddingModelInstanceInfo = typeof EmbeddingModelInstanceInfo.Type

/**
 * Any downloaded model, discriminated by `type`.
 *
 * @since 0.1.0
 * @category models
 */
export const ModelInfo = Schema.Union(LlmInfo, EmbeddingModelInfo)
/**
 * @since 0.1.0
 * @category models
 */
export type ModelInfo = typeof ModelInfo.Type

/**
 * Any loaded instance, discriminated by `type`.
 *
 * @since 0.1.0
 * @category models
 */
export const ModelInstanceInfo = Schema.Union(LlmInstanceInfo, EmbeddingModelInstanceInfo)
/**
 * @since 0.1.0
 * @category models
 */
export type ModelInstanceInfo = typeof ModelInstanceInfo.Type

/**
 * The two model domains that model management covers.
 *
 * @since 0.1.0
 * @category models
 */
export type ModelDomain = "llm" | "embedding"

/**
 * A query that selects loaded instances: every given field must match.
 *
 * @since 0.1.0
 * @category models
 */
export const ModelQuery = Schema.Struct({
  identifier: Schema.optional(Schema.String),
  path: Schema.optional(Schema.String),
  domain: Schema.optional(Schema.Literal("llm", "embedding")),
  vision: Schema.optional(Schema.Boolean)
})
/**
 * @since 0.1.0
 * @category models
 */
export type ModelQuery = typeof ModelQuery.Type

/**
 * LM Studio's version, from the `system` namespace.
 *
 * @since 0.1.0
 * @category models
 */
export const ServerVersion = Schema.Struct({ version: Schema.String, build: Schema.Number })
/**
 * @since 0.1.0
 * @category models
 */
export type ServerVersion = typeof ServerVersion.Type
