/**
 * Load configurations for LLMs (`LlmLoadConfig`) and embedding models (`EmbeddingLoadConfig`):
 * Schemas that validate a user's config before anything is sent.
 *
 * Only the fields a user sets are sent, and an empty config sends nothing at all, so the server
 * keeps its own defaults (including its GPU settings).
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import {
  Bool,
  crossFieldIssues,
  exact,
  expecting,
  FiniteOrFalse,
  intBetween,
  IntOrFalse,
  makeValidator,
  NonNegativeInt,
  PositiveInt,
  Str,
  UnitInterval
} from "./internal/configSchema.js"
import { speculativeRules } from "./internal/loadConfigRules.js"
import type { InvalidArgumentError } from "./LMStudioError.js"

// ---------------------------------------------------------------------------------------------
// value schemas
// ---------------------------------------------------------------------------------------------

const GpuIndex = Schema.Int.pipe(Schema.greaterThanOrEqualTo(0), expecting("a GPU index (an integer >= 0)"))

/**
 * How much of a model to offload to the GPU: a fraction in `[0, 1]`, `"max"` (everything that
 * fits) or `"off"` (CPU only).
 *
 * @since 0.1.0
 * @category schemas
 */
export const GpuOffloadRatio = Schema.Union(UnitInterval, Schema.Literal("max", "off")).pipe(
  expecting(`a number between 0 and 1, "max" or "off"`)
)
/**
 * @since 0.1.0
 * @category models
 */
export type GpuOffloadRatio = typeof GpuOffloadRatio.Type

/**
 * How work is split across several GPUs.
 *
 * @since 0.1.0
 * @category schemas
 */
export const GpuSplitStrategy = Schema.Literal("evenly", "favorMainGpu").pipe(expecting(`"evenly" or "favorMainGpu"`))
/**
 * @since 0.1.0
 * @category models
 */
export type GpuSplitStrategy = typeof GpuSplitStrategy.Type

const gpuSplitFields = {
  /** The GPU to favour; sent as the first entry of the split priority list. */
  mainGpu: exact(GpuIndex),
  /** `"favorMainGpu"` fills `mainGpu` first; `"evenly"` (the default) spreads the model out. */
  splitStrategy: exact(GpuSplitStrategy),
  /** Indices of GPUs that must not be used. */
  disabledGpus: exact(Schema.Array(GpuIndex).pipe(expecting("an array of GPU indices", false)))
}

/**
 * GPU settings of an LLM load (`GPUSetting` in the official clients).
 *
 * @since 0.1.0
 * @category schemas
 */
export const GpuSetting = Schema.Struct({
  /** Fraction of the model's layers to offload to the GPU, `"max"` or `"off"`. */
  ratio: exact(GpuOffloadRatio),
  /** Fraction of mixture-of-experts layers to keep on the CPU, `"max"` or `"off"`. */
  numCpuExpertLayersRatio: exact(GpuOffloadRatio),
  ...gpuSplitFields
}).pipe(expecting("a GPU setting object", false)).annotations({ identifier: "GpuSetting" })
/**
 * @since 0.1.0
 * @category models
 */
export type GpuSetting = typeof GpuSetting.Type

/**
 * GPU settings of an embedding-model load. LM Studio does not take an offload ratio for
 * embedding models (the official client at HEAD never sends one), so only the split is accepted.
 *
 * @since 0.1.0
 * @category schemas
 */
export const EmbeddingGpuSetting = Schema.Struct(gpuSplitFields).pipe(expecting("a GPU setting object", false))
  .annotations({ identifier: "EmbeddingGpuSetting" })
/**
 * @since 0.1.0
 * @category models
 */
export type EmbeddingGpuSetting = typeof EmbeddingGpuSetting.Type

const cacheQuantizationTypes = ["f32", "f16", "q8_0", "q4_0", "q4_1", "iq4_nl", "q5_0", "q5_1"] as const

/**
 * Precision of llama.cpp's K or V cache.
 *
 * @since 0.1.0
 * @category schemas
 */
export const LlamaCacheQuantizationType = Schema.Literal(...cacheQuantizationTypes)
/**
 * @since 0.1.0
 * @category models
 */
export type LlamaCacheQuantizationType = typeof LlamaCacheQuantizationType.Type

const CacheQuantizationOrFalse = Schema.Union(LlamaCacheQuantizationType, Schema.Literal(false)).pipe(
  expecting(`one of ${cacheQuantizationTypes.map((t) => `"${t}"`).join(", ")}, or false`)
)

/**
 * KV-cache quantization of an MLX model.
 *
 * @since 0.1.0
 * @category schemas
 */
export const MlxKvCacheQuantization = Schema.Struct({
  /** Whether the KV cache is quantized at all. */
  enabled: Bool,
  /** Bits per value. */
  bits: Schema.Literal(8, 6, 4, 3, 2),
  /** Quantization group size. */
  groupSize: Schema.Literal(32, 64, 128),
  /** Number of tokens after which quantization starts. */
  quantizedStart: NonNegativeInt
}).annotations({ identifier: "MlxKvCacheQuantization" })
/**
 * @since 0.1.0
 * @category models
 */
export type MlxKvCacheQuantization = typeof MlxKvCacheQuantization.Type

const MlxKvCacheQuantizationOrFalse = Schema.Union(MlxKvCacheQuantization, Schema.Literal(false)).pipe(
  expecting("an object { enabled, bits, groupSize, quantizedStart } or false", false)
)

/**
 * A prompt (chat) template that overrides the model's own at load time.
 *
 * @since 0.1.0
 * @category schemas
 */
export const PromptTemplate = Schema.Struct({
  /** The template language; only Jinja is supported. */
  type: Schema.Literal("jinja"),
  /** The Jinja source of the template. */
  jinjaPromptTemplate: Str
}).pipe(expecting(`an object { type: "jinja", jinjaPromptTemplate: string }`, false)).annotations({
  identifier: "PromptTemplate"
})
/**
 * @since 0.1.0
 * @category models
 */
export type PromptTemplate = typeof PromptTemplate.Type

// ---------------------------------------------------------------------------------------------
// config schemas
// ---------------------------------------------------------------------------------------------

const llmLoadConfigFields = {
  /** GPU offload and multi-GPU split. Not setting it keeps the server's GPU settings. */
  gpu: exact(GpuSetting),
  /** Cap GPU offload strictly to the VRAM LM Studio detected. */
  gpuStrictVramCap: exact(Bool),
  /** How many predictions may run at the same time (1 to 1023). */
  maxParallelPredictions: exact(intBetween(1, 1023)),
  /** Let concurrent predictions share one KV cache (saves memory). */
  useUnifiedKvCache: exact(Bool),
  /** Keep the KV cache in GPU memory rather than RAM. */
  offloadKVCacheToGpu: exact(Bool),
  /** Context window in tokens (prompt plus response). */
  contextLength: exact(PositiveInt),
  /** Overrides the model's chat template. */
  promptTemplate: exact(PromptTemplate),
  /** Custom RoPE base frequency; `false` uses the model's own. */
  ropeFrequencyBase: exact(FiniteOrFalse),
  /** Custom RoPE frequency scale; `false` uses the model's own. */
  ropeFrequencyScale: exact(FiniteOrFalse),
  /** Prompt tokens evaluated per batch. */
  evalBatchSize: exact(PositiveInt),
  /** Prompt tokens processed physically at a time (llama.cpp `ubatch`). */
  physicalBatchSize: exact(PositiveInt),
  /** Use Flash Attention. */
  flashAttention: exact(Bool),
  /** Context checkpoints kept per slot; `0` disables them. */
  contextCheckpoints: exact(NonNegativeInt),
  /** Message injected when a reasoning budget runs out. */
  reasoningBudgetMessage: exact(Str),
  /** Speculative decoding with the model's own multi-token-prediction heads. */
  speculativeDraftMtp: exact(Bool),
  /** Speculative decoding with a separate draft model (`speculativeDraftModel`). */
  speculativeDraftSimple: exact(Bool),
  /** The draft model for `speculativeDraftSimple`. */
  speculativeDraftModel: exact(Str),
  /** Maximum number of draft tokens per step. */
  speculativeDraftMaxTokens: exact(NonNegativeInt),
  /** Minimum draft length worth verifying; at most `speculativeDraftMaxTokens`. */
  speculativeDraftMinTokens: exact(NonNegativeInt),
  /** Minimum probability (0 to 1) to keep drafting. */
  speculativeDraftMinContinueProbability: exact(UnitInterval),
  /** Keep the model in system memory even when it is offloaded to the GPU. */
  keepModelInMemory: exact(Bool),
  /** Seed for reproducible outputs; `false` means random. */
  seed: exact(IntOrFalse),
  /** Store the KV cache in FP16. */
  useFp16ForKVCache: exact(Bool),
  /** Load the model with mmap when possible. */
  tryMmap: exact(Bool),
  /** Read the model with direct I/O (bypassing the page cache) when possible. */
  tryDirectIO: exact(Bool),
  /** Active experts of a mixture-of-experts model. */
  numExperts: exact(PositiveInt),
  /** K-cache quantization; `false` turns it off. */
  llamaKCacheQuantizationType: exact(CacheQuantizationOrFalse),
  /** V-cache quantization; `false` turns it off. */
  llamaVCacheQuantizationType: exact(CacheQuantizationOrFalse),
  /** Use MLX's on-disk prompt cache. */
  mlxDiskCache: exact(Bool),
  /** MLX KV-cache quantization; `false` turns it off. */
  mlxKvCacheQuantization: exact(MlxKvCacheQuantizationOrFalse)
}

/**
 * Load configuration of an LLM (`LLMLoadModelConfig` in the official clients). Every field is
 * optional; a field left out keeps the server's default. Numbers must be finite. Cross-field
 * rules: `speculativeDraftSimple` and `speculativeDraftMtp` cannot both be true; a non-empty
 * `speculativeDraftModel` requires `speculativeDraftSimple: true` and vice versa;
 * `speculativeDraftMinTokens <= speculativeDraftMaxTokens`.
 *
 * @example
 * ```ts
 * const config: LlmLoadConfig = { contextLength: 8192, gpu: { ratio: "max" }, seed: 42 }
 * ```
 *
 * @since 0.1.0
 * @category schemas
 */
export const LlmLoadConfig = Schema.Struct(llmLoadConfigFields).pipe(
  expecting("an object", false),
  Schema.filter(crossFieldIssues(speculativeRules), { identifier: "LlmLoadConfig" })
)
/**
 * @since 0.1.0
 * @category models
 */
export type LlmLoadConfig = typeof LlmLoadConfig.Type

/**
 * Load configuration of an embedding model (`EmbeddingLoadModelConfig` in the official
 * clients). Every field is optional.
 *
 * @since 0.1.0
 * @category schemas
 */
export const EmbeddingLoadConfig = Schema.Struct({
  /** Multi-GPU split. Not setting it keeps the server's GPU settings. */
  gpu: exact(EmbeddingGpuSetting),
  /** Context window in tokens. */
  contextLength: exact(PositiveInt),
  /** Custom RoPE base frequency; `false` uses the model's own. */
  ropeFrequencyBase: exact(FiniteOrFalse),
  /** Custom RoPE frequency scale; `false` uses the model's own. */
  ropeFrequencyScale: exact(FiniteOrFalse),
  /** Keep the model in system memory even when it is offloaded to the GPU. */
  keepModelInMemory: exact(Bool),
  /** Load the model with mmap when possible. */
  tryMmap: exact(Bool)
}).pipe(expecting("an object", false)).annotations({ identifier: "EmbeddingLoadConfig" })
/**
 * @since 0.1.0
 * @category models
 */
export type EmbeddingLoadConfig = typeof EmbeddingLoadConfig.Type

// ---------------------------------------------------------------------------------------------
// validation
// ---------------------------------------------------------------------------------------------

/** GPU-setting keys LM Studio only takes for LLMs. */
const llmOnlyGpuKeys: ReadonlySet<string> = new Set(["ratio", "numCpuExpertLayersRatio"])
/** Keys that belong inside `gpu`, for a hint when they are given at the top level. */
const gpuKeys: ReadonlySet<string> = new Set([...llmOnlyGpuKeys, ...Object.keys(gpuSplitFields)])

const unknownLoadConfigKey = (domain: "llm" | "embedding") => (path: ReadonlyArray<PropertyKey>): string => {
  const [first, second] = path.map(String)
  if (domain === "embedding" && path.length === 2 && first === "gpu" && llmOnlyGpuKeys.has(second!)) {
    return "is not supported for embedding models"
  }
  if (path.length > 1) return "is not a known field"
  return gpuKeys.has(first!)
    ? `is not a known load-config field (did you mean gpu.${first}?)`
    : "is not a known load-config field"
}

/**
 * Checks an LLM load config before anything is sent. Unknown keys are rejected; a key whose value
 * is `undefined` counts as absent. Fails with an `InvalidArgumentError` naming the first bad field,
 * e.g. `{ field: "config.contextLength", reason: "must be an integer >= 1, got 0" }`.
 *
 * @since 0.1.0
 * @category validation
 */
export const validateLlmLoadConfig: (input: unknown) => Effect.Effect<LlmLoadConfig, InvalidArgumentError> =
  makeValidator(LlmLoadConfig, { root: "config", unknownKey: unknownLoadConfigKey("llm") })

/**
 * Checks an embedding-model load config before anything is sent; see `validateLlmLoadConfig`.
 *
 * @since 0.1.0
 * @category validation
 */
export const validateEmbeddingLoadConfig: (
  input: unknown
) => Effect.Effect<EmbeddingLoadConfig, InvalidArgumentError> = makeValidator(EmbeddingLoadConfig, {
  root: "config",
  unknownKey: unknownLoadConfigKey("embedding")
})
