/**
 * Load configurations for LLMs (`LlmLoadConfig`) and embedding models (`EmbeddingLoadConfig`):
 * Schemas that validate a user's config before anything is sent, and the mapping to and from
 * LM Studio's KV-config fields.
 *
 * The mapping follows the official JS client at HEAD: only the fields the user set are sent, as
 * full dotted keys (`llm.load.contextLength`, `load.gpuSplitConfig`, ...), and an empty config
 * sends no fields at all, so the server keeps its own defaults (including its GPU settings).
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import type * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type { Mutable } from "effect/Types"
import type { KVConfig, KVConfigField } from "./internal/protocol/kvConfig.js"
import { InvalidArgumentError } from "./LMStudioError.js"

// ---------------------------------------------------------------------------------------------
// value schemas
// ---------------------------------------------------------------------------------------------

const exact = <S extends Schema.Schema.All>(self: S): Schema.optionalWith<S, { exact: true }> =>
  Schema.optionalWith(self, { exact: true })

const intAtLeast = (min: number) => Schema.Int.pipe(Schema.greaterThanOrEqualTo(min))

const NonNegativeInt = intAtLeast(0)
const PositiveInt = intAtLeast(1)
const UnitInterval = Schema.Finite.pipe(Schema.between(0, 1))
const FiniteOrFalse = Schema.Union(Schema.Finite, Schema.Literal(false))
const IntOrFalse = Schema.Union(Schema.Int, Schema.Literal(false))
const MaxParallelPredictions = Schema.Int.pipe(Schema.between(1, 1023))

/**
 * How much of a model to offload to the GPU: a fraction in `[0, 1]`, `"max"` (everything that
 * fits) or `"off"` (CPU only).
 *
 * @since 0.1.0
 * @category schemas
 */
export const GpuOffloadRatio = Schema.Union(UnitInterval, Schema.Literal("max", "off"))
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
export const GpuSplitStrategy = Schema.Literal("evenly", "favorMainGpu")
/**
 * @since 0.1.0
 * @category models
 */
export type GpuSplitStrategy = typeof GpuSplitStrategy.Type

const gpuSplitFields = {
  /** The GPU to favour; sent as the first entry of the split priority list. */
  mainGpu: exact(NonNegativeInt),
  /** `"favorMainGpu"` fills `mainGpu` first; `"evenly"` (the default) spreads the model out. */
  splitStrategy: exact(GpuSplitStrategy),
  /** Indices of GPUs that must not be used. */
  disabledGpus: exact(Schema.Array(NonNegativeInt))
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
}).annotations({ identifier: "GpuSetting" })
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
export const EmbeddingGpuSetting = Schema.Struct(gpuSplitFields).annotations({ identifier: "EmbeddingGpuSetting" })
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

const CacheQuantizationOrFalse = Schema.Union(LlamaCacheQuantizationType, Schema.Literal(false))

/**
 * KV-cache quantization of an MLX model.
 *
 * @since 0.1.0
 * @category schemas
 */
export const MlxKvCacheQuantization = Schema.Struct({
  /** Whether the KV cache is quantized at all. */
  enabled: Schema.Boolean,
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

const MlxKvCacheQuantizationOrFalse = Schema.Union(MlxKvCacheQuantization, Schema.Literal(false))

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
  jinjaPromptTemplate: Schema.String
}).annotations({ identifier: "PromptTemplate" })
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
  gpuStrictVramCap: exact(Schema.Boolean),
  /** How many predictions may run at the same time (1 to 1023). */
  maxParallelPredictions: exact(MaxParallelPredictions),
  /** Let concurrent predictions share one KV cache (saves memory). */
  useUnifiedKvCache: exact(Schema.Boolean),
  /** Keep the KV cache in GPU memory rather than RAM. */
  offloadKVCacheToGpu: exact(Schema.Boolean),
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
  flashAttention: exact(Schema.Boolean),
  /** Context checkpoints kept per slot; `0` disables them. */
  contextCheckpoints: exact(NonNegativeInt),
  /** Message injected when a reasoning budget runs out. */
  reasoningBudgetMessage: exact(Schema.String),
  /** Speculative decoding with the model's own multi-token-prediction heads. */
  speculativeDraftMtp: exact(Schema.Boolean),
  /** Speculative decoding with a separate draft model (`speculativeDraftModel`). */
  speculativeDraftSimple: exact(Schema.Boolean),
  /** The draft model for `speculativeDraftSimple`. */
  speculativeDraftModel: exact(Schema.String),
  /** Maximum number of draft tokens per step. */
  speculativeDraftMaxTokens: exact(NonNegativeInt),
  /** Minimum draft length worth verifying; at most `speculativeDraftMaxTokens`. */
  speculativeDraftMinTokens: exact(NonNegativeInt),
  /** Minimum probability (0 to 1) to keep drafting. */
  speculativeDraftMinContinueProbability: exact(UnitInterval),
  /** Keep the model in system memory even when it is offloaded to the GPU. */
  keepModelInMemory: exact(Schema.Boolean),
  /** Seed for reproducible outputs; `false` means random. */
  seed: exact(IntOrFalse),
  /** Store the KV cache in FP16. */
  useFp16ForKVCache: exact(Schema.Boolean),
  /** Load the model with mmap when possible. */
  tryMmap: exact(Schema.Boolean),
  /** Read the model with direct I/O (bypassing the page cache) when possible. */
  tryDirectIO: exact(Schema.Boolean),
  /** Active experts of a mixture-of-experts model. */
  numExperts: exact(PositiveInt),
  /** K-cache quantization; `false` turns it off. */
  llamaKCacheQuantizationType: exact(CacheQuantizationOrFalse),
  /** V-cache quantization; `false` turns it off. */
  llamaVCacheQuantizationType: exact(CacheQuantizationOrFalse),
  /** Use MLX's on-disk prompt cache. */
  mlxDiskCache: exact(Schema.Boolean),
  /** MLX KV-cache quantization; `false` turns it off. */
  mlxKvCacheQuantization: exact(MlxKvCacheQuantizationOrFalse)
}

type LlmFieldsType = Schema.Struct.Type<typeof llmLoadConfigFields>

const hasDraftModel = (config: LlmFieldsType): boolean =>
  config.speculativeDraftModel !== undefined && config.speculativeDraftModel.length > 0

const speculativeIssues = (config: LlmFieldsType): Array<Schema.FilterIssue> => {
  const issues: Array<Schema.FilterIssue> = []
  if (config.speculativeDraftMtp === true && config.speculativeDraftSimple === true) {
    issues.push({
      path: ["speculativeDraftSimple"],
      message: "cannot be true together with speculativeDraftMtp"
    })
  }
  if (config.speculativeDraftSimple === true && !hasDraftModel(config)) {
    issues.push({
      path: ["speculativeDraftModel"],
      message: "must name a draft model (a non-empty string) when speculativeDraftSimple is true"
    })
  }
  if (hasDraftModel(config) && config.speculativeDraftSimple !== true) {
    issues.push({ path: ["speculativeDraftModel"], message: "requires speculativeDraftSimple: true" })
  }
  if (
    config.speculativeDraftMinTokens !== undefined && config.speculativeDraftMaxTokens !== undefined &&
    config.speculativeDraftMinTokens > config.speculativeDraftMaxTokens
  ) {
    issues.push({
      path: ["speculativeDraftMinTokens"],
      message: `must be <= speculativeDraftMaxTokens (${config.speculativeDraftMaxTokens}), ` +
        `got ${config.speculativeDraftMinTokens}`
    })
  }
  return issues
}

/**
 * Load configuration of an LLM (`LLMLoadModelConfig` in the official clients). Every field is
 * optional; a field left out keeps the server's default. Numbers must be
 * finite. Cross-field rules: `speculativeDraftSimple` and `speculativeDraftMtp` cannot both be
 * true; a non-empty `speculativeDraftModel` requires `speculativeDraftSimple: true` and vice
 * versa; `speculativeDraftMinTokens <= speculativeDraftMaxTokens`.
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
  Schema.filter((config) => speculativeIssues(config), { identifier: "LlmLoadConfig" })
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
  keepModelInMemory: exact(Schema.Boolean),
  /** Load the model with mmap when possible. */
  tryMmap: exact(Schema.Boolean)
}).annotations({ identifier: "EmbeddingLoadConfig" })
/**
 * @since 0.1.0
 * @category models
 */
export type EmbeddingLoadConfig = typeof EmbeddingLoadConfig.Type

// ---------------------------------------------------------------------------------------------
// validation
// ---------------------------------------------------------------------------------------------

const ratioText = `a number between 0 and 1, "max" or "off"`
const cacheTypeText = `one of ${cacheQuantizationTypes.map((t) => `"${t}"`).join(", ")}, or false`

/** What each field must be, by path (array indices written as `[]`). */
const expectations: Readonly<Record<string, string>> = {
  "": "an object",
  "gpu": "a GPU setting object",
  "gpu.ratio": ratioText,
  "gpu.numCpuExpertLayersRatio": ratioText,
  "gpu.mainGpu": "a GPU index (an integer >= 0)",
  "gpu.splitStrategy": `"evenly" or "favorMainGpu"`,
  "gpu.disabledGpus": "an array of GPU indices",
  "gpu.disabledGpus[]": "a GPU index (an integer >= 0)",
  "gpuStrictVramCap": "a boolean",
  "maxParallelPredictions": "an integer between 1 and 1023",
  "useUnifiedKvCache": "a boolean",
  "offloadKVCacheToGpu": "a boolean",
  "contextLength": "an integer >= 1",
  "promptTemplate": `an object { type: "jinja", jinjaPromptTemplate: string }`,
  "promptTemplate.type": `"jinja"`,
  "promptTemplate.jinjaPromptTemplate": "a string",
  "ropeFrequencyBase": "a finite number or false",
  "ropeFrequencyScale": "a finite number or false",
  "evalBatchSize": "an integer >= 1",
  "physicalBatchSize": "an integer >= 1",
  "flashAttention": "a boolean",
  "contextCheckpoints": "an integer >= 0",
  "reasoningBudgetMessage": "a string",
  "speculativeDraftMtp": "a boolean",
  "speculativeDraftSimple": "a boolean",
  "speculativeDraftModel": "a string",
  "speculativeDraftMaxTokens": "an integer >= 0",
  "speculativeDraftMinTokens": "an integer >= 0",
  "speculativeDraftMinContinueProbability": "a number between 0 and 1",
  "keepModelInMemory": "a boolean",
  "seed": "an integer or false",
  "useFp16ForKVCache": "a boolean",
  "tryMmap": "a boolean",
  "tryDirectIO": "a boolean",
  "numExperts": "an integer >= 1",
  "llamaKCacheQuantizationType": cacheTypeText,
  "llamaVCacheQuantizationType": cacheTypeText,
  "mlxDiskCache": "a boolean",
  "mlxKvCacheQuantization": "an object { enabled, bits, groupSize, quantizedStart } or false",
  "mlxKvCacheQuantization.enabled": "a boolean",
  "mlxKvCacheQuantization.bits": "8, 6, 4, 3 or 2",
  "mlxKvCacheQuantization.groupSize": "32, 64 or 128",
  "mlxKvCacheQuantization.quantizedStart": "an integer >= 0"
}

type Leaf = ParseResult.Type | ParseResult.Missing | ParseResult.Unexpected | ParseResult.Forbidden

interface LocatedLeaf {
  readonly path: ReadonlyArray<PropertyKey>
  readonly leaf: Leaf
}

const toArray = <A>(self: A | ReadonlyArray<A>): ReadonlyArray<A> =>
  Array.isArray(self) ? self as ReadonlyArray<A> : [self as A]

/**
 * The first leaf of an issue tree, with its path. Inside a union the most specific member (the
 * deepest path) wins, so `{ bits: 5 }` in `mlxKvCacheQuantization` points at `bits`.
 */
const firstLeaf = (issue: ParseResult.ParseIssue, path: ReadonlyArray<PropertyKey>): LocatedLeaf => {
  switch (issue._tag) {
    case "Pointer":
      return firstLeaf(issue.issue, [...path, ...toArray<PropertyKey>(issue.path)])
    case "Refinement":
    case "Transformation":
      return firstLeaf(issue.issue, path)
    case "Composite": {
      const leaves = toArray(issue.issues).map((inner) => firstLeaf(inner, path))
      let best = leaves[0] ?? { path, leaf: issue as unknown as Leaf }
      if (issue.ast._tag === "Union") {
        for (const candidate of leaves) {
          if (candidate.path.length > best.path.length) best = candidate
        }
      }
      return best
    }
    default:
      return { path, leaf: issue }
  }
}

const fieldName = (path: ReadonlyArray<PropertyKey>): string =>
  path.reduce<string>(
    (acc, key) => typeof key === "number" ? `${acc}[${key}]` : `${acc}.${String(key)}`,
    "config"
  )

const expectationKey = (path: ReadonlyArray<PropertyKey>): string =>
  path.reduce<string>(
    (acc, key) => typeof key === "number" ? `${acc}[]` : acc === "" ? String(key) : `${acc}.${String(key)}`,
    ""
  )

const describeValue = (value: unknown): string => {
  switch (typeof value) {
    case "string":
      return value.length > 40 ? `${JSON.stringify(value.slice(0, 40))}…` : JSON.stringify(value)
    case "number":
      return Object.is(value, -0) ? "-0" : String(value)
    case "bigint":
      return `${value}n`
    case "boolean":
    case "undefined":
    case "symbol":
      return String(value)
    case "function":
      return "a function"
    default:
      return value === null ? "null" : Array.isArray(value) ? `an array of length ${value.length}` : "an object"
  }
}

/** GPU-setting keys LM Studio only takes for LLMs. */
const llmOnlyGpuKeys: ReadonlySet<string> = new Set(["gpu.ratio", "gpu.numCpuExpertLayersRatio"])
/** Keys that belong inside `gpu`, for a hint when they are given at the top level. */
const gpuKeys: ReadonlySet<string> = new Set([
  "ratio",
  "numCpuExpertLayersRatio",
  "mainGpu",
  "splitStrategy",
  "disabledGpus"
])

const issueToError = (issue: ParseResult.ParseIssue, domain: "llm" | "embedding"): InvalidArgumentError => {
  const { leaf, path } = firstLeaf(issue, [])
  const key = expectationKey(path)
  const field = fieldName(path)
  switch (leaf._tag) {
    case "Unexpected":
      return new InvalidArgumentError({
        field,
        reason: domain === "embedding" && llmOnlyGpuKeys.has(key)
          ? "is not supported for embedding models"
          : path.length > 1
          ? "is not a known field"
          : gpuKeys.has(key)
          ? `is not a known load-config field (did you mean gpu.${key}?)`
          : "is not a known load-config field"
      })
    case "Missing":
      return new InvalidArgumentError({ field, reason: "is required" })
    default: {
      if (leaf.message !== undefined) return new InvalidArgumentError({ field, reason: leaf.message })
      const expected = expectations[key]
      return new InvalidArgumentError({
        field,
        reason: expected !== undefined
          ? `must be ${expected}, got ${describeValue(leaf.actual)}`
          : `is invalid, got ${describeValue(leaf.actual)}`
      })
    }
  }
}

const isPlainObject = (u: unknown): u is Record<string, unknown> => {
  if (typeof u !== "object" || u === null || Array.isArray(u)) return false
  const proto: unknown = Object.getPrototypeOf(u)
  return proto === Object.prototype || proto === null
}

/** Drops keys whose value is `undefined` (as `JSON.stringify` does on the wire), recursively. */
const dropUndefined = (u: unknown): unknown => {
  if (!isPlainObject(u)) return u
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(u)) {
    if (value !== undefined) out[key] = dropUndefined(value)
  }
  return out
}

const decodeOptions = { onExcessProperty: "error", errors: "all" } as const

const makeValidator = <A, I>(schema: Schema.Schema<A, I>, domain: "llm" | "embedding") => {
  const decode = Schema.decodeUnknownEither(schema, decodeOptions)
  return (input: unknown): Effect.Effect<A, InvalidArgumentError> =>
    Effect.try({
      try: () => decode(dropUndefined(input)),
      catch: (error) =>
        new InvalidArgumentError({ field: "config", reason: `could not be read (${String(error)})` })
    }).pipe(
      Effect.flatMap(Either.match({
        onLeft: (error) => Effect.fail(issueToError(error.issue, domain)),
        onRight: (config) => Effect.succeed(config)
      }))
    )
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
  makeValidator(LlmLoadConfig, "llm")

/**
 * Checks an embedding-model load config before anything is sent; see `validateLlmLoadConfig`.
 *
 * @since 0.1.0
 * @category validation
 */
export const validateEmbeddingLoadConfig: (
  input: unknown
) => Effect.Effect<EmbeddingLoadConfig, InvalidArgumentError> = makeValidator(EmbeddingLoadConfig, "embedding")

// ---------------------------------------------------------------------------------------------
// KV keys
// ---------------------------------------------------------------------------------------------

const GPU_SPLIT_KEY = "load.gpuSplitConfig"
const SPECULATIVE = "llm.load.llama.speculativeDecoding."

const llmKeys = {
  offloadRatio: "llm.load.llama.acceleration.offloadRatio",
  numCpuExpertLayersRatio: "llm.load.numCpuExpertLayersRatio",
  gpuStrictVramCap: "load.gpuStrictVramCap",
  maxParallelPredictions: "llm.load.numParallelSessions",
  useUnifiedKvCache: "llm.load.useUnifiedKvCache",
  offloadKVCacheToGpu: "llm.load.offloadKVCacheToGpu",
  contextLength: "llm.load.contextLength",
  promptTemplate: "llm.load.promptTemplate",
  ropeFrequencyBase: "llm.load.llama.ropeFrequencyBase",
  ropeFrequencyScale: "llm.load.llama.ropeFrequencyScale",
  evalBatchSize: "llm.load.llama.evalBatchSize",
  physicalBatchSize: "llm.load.llama.physicalBatchSize",
  flashAttention: "llm.load.llama.flashAttention",
  contextCheckpoints: "llm.load.llama.contextCheckpoints",
  reasoningBudgetMessage: "llm.load.llama.reasoningBudgetMessage",
  speculativeDraftMtp: `${SPECULATIVE}draftMtp`,
  speculativeDraftSimple: `${SPECULATIVE}draftSimple`,
  speculativeDraftModel: `${SPECULATIVE}draftModel`,
  speculativeDraftMaxTokens: `${SPECULATIVE}draftMaxTokens`,
  speculativeDraftMinTokens: `${SPECULATIVE}draftMinTokens`,
  speculativeDraftMinContinueProbability: `${SPECULATIVE}draftMinContinueProbability`,
  keepModelInMemory: "llm.load.llama.keepModelInMemory",
  seed: "llm.load.seed",
  useFp16ForKVCache: "llm.load.llama.useFp16ForKVCache",
  tryMmap: "llm.load.llama.tryMmap",
  tryDirectIO: "llm.load.llama.tryDirectIO",
  numExperts: "llm.load.numExperts",
  llamaKCacheQuantizationType: "llm.load.llama.kCacheQuantizationType",
  llamaVCacheQuantizationType: "llm.load.llama.vCacheQuantizationType",
  mlxDiskCache: "llm.load.mlx.diskCache",
  mlxKvCacheQuantization: "llm.load.mlx.kvCacheQuantization"
} as const

/** Internal selectors the official client clears whenever a public speculative selector is set. */
const speculativeSidecarKeys = [
  `${SPECULATIVE}draftDflashSidecar`,
  `${SPECULATIVE}draftDsparkSidecar`,
  `${SPECULATIVE}draftMtpSidecar`
] as const

const embeddingKeys = {
  contextLength: "embedding.load.contextLength",
  ropeFrequencyBase: "embedding.load.llama.ropeFrequencyBase",
  ropeFrequencyScale: "embedding.load.llama.ropeFrequencyScale",
  keepModelInMemory: "embedding.load.llama.keepModelInMemory",
  tryMmap: "embedding.load.llama.tryMmap"
} as const

/** The placeholder value of an unchecked cache-quantization checkbox. */
const cacheOff: LlamaCacheQuantizationType = "f16"

/** The wire form of `mlxKvCacheQuantization: false`. */
const mlxKvCacheQuantizationOff = { enabled: false, bits: 8, groupSize: 64, quantizedStart: 5000 } as const

// ---------------------------------------------------------------------------------------------
// config → KV fields
// ---------------------------------------------------------------------------------------------

interface Checkbox<A> {
  readonly checked: boolean
  readonly value: A
}

const checkbox = <A>(value: A | false | undefined, placeholder: A): Checkbox<A> | undefined =>
  value === undefined
    ? undefined
    : value === false
    ? { checked: false, value: placeholder }
    : { checked: true, value }

interface GpuSplitConfig {
  readonly strategy: "evenly" | "priorityOrder"
  readonly disabledGpus: ReadonlyArray<number>
  readonly priority: ReadonlyArray<number>
  readonly customRatio: ReadonlyArray<number>
}

const toGpuSplitConfig = (gpu: EmbeddingGpuSetting): GpuSplitConfig => ({
  strategy: gpu.splitStrategy === "favorMainGpu" ? "priorityOrder" : gpu.splitStrategy ?? "evenly",
  disabledGpus: [...(gpu.disabledGpus ?? [])],
  priority: gpu.mainGpu !== undefined ? [gpu.mainGpu] : [],
  customRatio: []
})

const fieldWriter = () => {
  const fields: Array<KVConfigField> = []
  const put = (key: string, value: unknown): void => {
    if (value !== undefined) fields.push({ key, value })
  }
  return { fields, put }
}

/**
 * The KV-config fields an LLM load sends for a config: only the
 * fields that are set, with full dotted keys, in the order @lmstudio/sdk 1.5.0 sends them. `{}` gives `[]`, which
 * keeps every server default. Validate the config first with `validateLlmLoadConfig`.
 *
 * @since 0.1.0
 * @category conversions
 */
export const llmConfigToKVFields = (config: LlmLoadConfig): ReadonlyArray<KVConfigField> => {
  const { fields, put } = fieldWriter()
  // First the fields @lmstudio/sdk 1.5.0 knows, in the order it sends them, so that the same
  // config produces the same frame; then the newer fields in the protocol table's order.
  put(llmKeys.contextLength, config.contextLength)
  put(llmKeys.evalBatchSize, config.evalBatchSize)
  if (config.gpu !== undefined) {
    put(llmKeys.offloadRatio, config.gpu.ratio)
    put(GPU_SPLIT_KEY, toGpuSplitConfig(config.gpu))
  }
  put(llmKeys.flashAttention, config.flashAttention)
  put(llmKeys.ropeFrequencyBase, checkbox(config.ropeFrequencyBase, 0))
  put(llmKeys.ropeFrequencyScale, checkbox(config.ropeFrequencyScale, 0))
  put(llmKeys.keepModelInMemory, config.keepModelInMemory)
  put(llmKeys.seed, checkbox(config.seed, 0))
  put(llmKeys.useFp16ForKVCache, config.useFp16ForKVCache)
  put(llmKeys.tryMmap, config.tryMmap)
  put(llmKeys.numExperts, config.numExperts)
  put(llmKeys.llamaKCacheQuantizationType, checkbox(config.llamaKCacheQuantizationType, cacheOff))
  put(llmKeys.llamaVCacheQuantizationType, checkbox(config.llamaVCacheQuantizationType, cacheOff))
  put(llmKeys.numCpuExpertLayersRatio, config.gpu?.numCpuExpertLayersRatio)
  put(llmKeys.gpuStrictVramCap, config.gpuStrictVramCap)
  put(llmKeys.maxParallelPredictions, config.maxParallelPredictions)
  put(llmKeys.useUnifiedKvCache, config.useUnifiedKvCache)
  put(llmKeys.offloadKVCacheToGpu, config.offloadKVCacheToGpu)
  put(
    llmKeys.promptTemplate,
    config.promptTemplate === undefined
      ? undefined
      : { type: config.promptTemplate.type, jinjaPromptTemplate: config.promptTemplate.jinjaPromptTemplate }
  )
  put(llmKeys.physicalBatchSize, config.physicalBatchSize)
  put(llmKeys.contextCheckpoints, config.contextCheckpoints)
  put(llmKeys.reasoningBudgetMessage, config.reasoningBudgetMessage)
  put(llmKeys.speculativeDraftMtp, config.speculativeDraftMtp)
  put(llmKeys.speculativeDraftSimple, config.speculativeDraftSimple)
  put(llmKeys.speculativeDraftModel, config.speculativeDraftModel)
  if (
    config.speculativeDraftMtp !== undefined || config.speculativeDraftSimple !== undefined ||
    config.speculativeDraftModel !== undefined
  ) {
    for (const key of speculativeSidecarKeys) put(key, false)
  }
  put(llmKeys.speculativeDraftMaxTokens, config.speculativeDraftMaxTokens)
  put(llmKeys.speculativeDraftMinTokens, config.speculativeDraftMinTokens)
  put(llmKeys.speculativeDraftMinContinueProbability, config.speculativeDraftMinContinueProbability)
  put(llmKeys.tryDirectIO, config.tryDirectIO)
  put(llmKeys.mlxDiskCache, config.mlxDiskCache)
  const mlx = config.mlxKvCacheQuantization
  put(
    llmKeys.mlxKvCacheQuantization,
    mlx === undefined
      ? undefined
      : mlx === false
      ? { ...mlxKvCacheQuantizationOff }
      : { enabled: mlx.enabled, bits: mlx.bits, groupSize: mlx.groupSize, quantizedStart: mlx.quantizedStart }
  )
  return fields
}

/**
 * The KV-config fields an embedding-model load sends for a config: only the fields that are
 * set, in the official client's order. `{}` gives `[]`.
 *
 * @since 0.1.0
 * @category conversions
 */
export const embeddingConfigToKVFields = (config: EmbeddingLoadConfig): ReadonlyArray<KVConfigField> => {
  const { fields, put } = fieldWriter()
  if (config.gpu !== undefined) put(GPU_SPLIT_KEY, toGpuSplitConfig(config.gpu))
  put(embeddingKeys.contextLength, config.contextLength)
  put(embeddingKeys.ropeFrequencyBase, checkbox(config.ropeFrequencyBase, 0))
  put(embeddingKeys.ropeFrequencyScale, checkbox(config.ropeFrequencyScale, 0))
  put(embeddingKeys.keepModelInMemory, config.keepModelInMemory)
  put(embeddingKeys.tryMmap, config.tryMmap)
  return fields
}

// ---------------------------------------------------------------------------------------------
// KV config → config
// ---------------------------------------------------------------------------------------------

const fieldReader = (kv: KVConfig) => {
  // Later fields with the same key win, as in a flattened stack.
  const values = new Map<string, unknown>()
  for (const field of kv.fields) values.set(field.key, field.value)

  const read = <A, I>(key: string, schema: Schema.Schema<A, I>): A | undefined =>
    Option.getOrUndefined(Schema.decodeUnknownOption(schema)(values.get(key)))

  const readCheckbox = <A, I>(key: string, schema: Schema.Schema<A, I>): A | false | undefined => {
    const raw = values.get(key)
    if (!isPlainObject(raw)) return undefined
    if (raw["checked"] === false) return false
    if (raw["checked"] !== true) return undefined
    return Option.getOrUndefined(Schema.decodeUnknownOption(schema)(raw["value"]))
  }

  const readGpuSplit = (): Mutable<EmbeddingGpuSetting> | undefined => {
    const raw = values.get(GPU_SPLIT_KEY)
    if (!isPlainObject(raw)) return undefined
    const gpu: Mutable<EmbeddingGpuSetting> = {}
    if (raw["strategy"] === "priorityOrder") gpu.splitStrategy = "favorMainGpu"
    const priority = raw["priority"]
    if (Array.isArray(priority)) {
      const mainGpu = Option.getOrUndefined(Schema.decodeUnknownOption(NonNegativeInt)(priority[0]))
      if (mainGpu !== undefined) gpu.mainGpu = mainGpu
    }
    const disabled = Option.getOrUndefined(
      Schema.decodeUnknownOption(Schema.Array(NonNegativeInt))(raw["disabledGpus"])
    )
    if (disabled !== undefined && disabled.length > 0) gpu.disabledGpus = disabled
    return gpu
  }

  return { read, readCheckbox, readGpuSplit, raw: (key: string) => values.get(key) }
}

/** Drops fields so that the speculative cross-field rules hold (a server config can be stale). */
const sanitizeSpeculative = (config: Mutable<LlmLoadConfig>): void => {
  if (config.speculativeDraftMtp === true && config.speculativeDraftSimple === true) {
    delete config.speculativeDraftSimple
  }
  if (config.speculativeDraftSimple === true && !hasDraftModel(config)) delete config.speculativeDraftSimple
  if (hasDraftModel(config) && config.speculativeDraftSimple !== true) delete config.speculativeDraftModel
  if (
    config.speculativeDraftMinTokens !== undefined && config.speculativeDraftMaxTokens !== undefined &&
    config.speculativeDraftMinTokens > config.speculativeDraftMaxTokens
  ) {
    delete config.speculativeDraftMinTokens
  }
}

const isMlxOff = (raw: unknown): boolean =>
  isPlainObject(raw) && raw["enabled"] === false && raw["bits"] === mlxKvCacheQuantizationOff.bits &&
  raw["groupSize"] === mlxKvCacheQuantizationOff.groupSize &&
  raw["quantizedStart"] === mlxKvCacheQuantizationOff.quantizedStart

/**
 * Reads an LLM load config back from KV-config fields with full keys, e.g. the effective config
 * a server reports for a loaded instance. Unknown keys, and values that do not fit
 * `LlmLoadConfig`, are skipped; it never throws. An unchecked checkbox reads as `false`; the GPU
 * split reads back with its defaults (`splitStrategy: "evenly"`, no disabled GPUs) left out, and
 * only the exact wire form of `mlxKvCacheQuantization: false` reads back as `false`. Speculative
 * fields that would break the cross-field rules (a stale draft model, say) are dropped, so the
 * result always passes `validateLlmLoadConfig`.
 *
 * `llmConfigFromKVConfig({ fields: llmConfigToKVFields(c) })` equals `c` for every valid `c`, up to
 * those omitted GPU-split defaults.
 *
 * @since 0.1.0
 * @category conversions
 */
export const llmConfigFromKVConfig = (kv: KVConfig): LlmLoadConfig => {
  const { raw, read, readCheckbox, readGpuSplit } = fieldReader(kv)
  const out: Mutable<LlmLoadConfig> = {}
  const split = readGpuSplit()
  const ratio = read(llmKeys.offloadRatio, GpuOffloadRatio)
  const numCpuExpertLayersRatio = read(llmKeys.numCpuExpertLayersRatio, GpuOffloadRatio)
  if (split !== undefined || ratio !== undefined || numCpuExpertLayersRatio !== undefined) {
    const gpu: Mutable<GpuSetting> = { ...split }
    if (ratio !== undefined) gpu.ratio = ratio
    if (numCpuExpertLayersRatio !== undefined) gpu.numCpuExpertLayersRatio = numCpuExpertLayersRatio
    out.gpu = gpu
  }
  const set = <K extends keyof LlmLoadConfig>(key: K, value: LlmLoadConfig[K] | undefined): void => {
    if (value !== undefined) out[key] = value
  }
  set("gpuStrictVramCap", read(llmKeys.gpuStrictVramCap, Schema.Boolean))
  set("maxParallelPredictions", read(llmKeys.maxParallelPredictions, MaxParallelPredictions))
  set("useUnifiedKvCache", read(llmKeys.useUnifiedKvCache, Schema.Boolean))
  set("offloadKVCacheToGpu", read(llmKeys.offloadKVCacheToGpu, Schema.Boolean))
  set("contextLength", read(llmKeys.contextLength, PositiveInt))
  set("promptTemplate", read(llmKeys.promptTemplate, PromptTemplate))
  set("ropeFrequencyBase", readCheckbox(llmKeys.ropeFrequencyBase, Schema.Finite))
  set("ropeFrequencyScale", readCheckbox(llmKeys.ropeFrequencyScale, Schema.Finite))
  set("evalBatchSize", read(llmKeys.evalBatchSize, PositiveInt))
  set("physicalBatchSize", read(llmKeys.physicalBatchSize, PositiveInt))
  set("flashAttention", read(llmKeys.flashAttention, Schema.Boolean))
  set("contextCheckpoints", read(llmKeys.contextCheckpoints, NonNegativeInt))
  set("reasoningBudgetMessage", read(llmKeys.reasoningBudgetMessage, Schema.String))
  set("speculativeDraftMtp", read(llmKeys.speculativeDraftMtp, Schema.Boolean))
  set("speculativeDraftSimple", read(llmKeys.speculativeDraftSimple, Schema.Boolean))
  set("speculativeDraftModel", read(llmKeys.speculativeDraftModel, Schema.String))
  set("speculativeDraftMaxTokens", read(llmKeys.speculativeDraftMaxTokens, NonNegativeInt))
  set("speculativeDraftMinTokens", read(llmKeys.speculativeDraftMinTokens, NonNegativeInt))
  set(
    "speculativeDraftMinContinueProbability",
    read(llmKeys.speculativeDraftMinContinueProbability, UnitInterval)
  )
  set("keepModelInMemory", read(llmKeys.keepModelInMemory, Schema.Boolean))
  set("seed", readCheckbox(llmKeys.seed, Schema.Int))
  set("useFp16ForKVCache", read(llmKeys.useFp16ForKVCache, Schema.Boolean))
  set("tryMmap", read(llmKeys.tryMmap, Schema.Boolean))
  set("tryDirectIO", read(llmKeys.tryDirectIO, Schema.Boolean))
  set("numExperts", read(llmKeys.numExperts, PositiveInt))
  set("llamaKCacheQuantizationType", readCheckbox(llmKeys.llamaKCacheQuantizationType, LlamaCacheQuantizationType))
  set("llamaVCacheQuantizationType", readCheckbox(llmKeys.llamaVCacheQuantizationType, LlamaCacheQuantizationType))
  set("mlxDiskCache", read(llmKeys.mlxDiskCache, Schema.Boolean))
  set(
    "mlxKvCacheQuantization",
    isMlxOff(raw(llmKeys.mlxKvCacheQuantization))
      ? false
      : read(llmKeys.mlxKvCacheQuantization, MlxKvCacheQuantization)
  )
  sanitizeSpeculative(out)
  return out
}

/**
 * Reads an embedding-model load config back from KV-config fields with full keys; see
 * `llmConfigFromKVConfig`.
 *
 * @since 0.1.0
 * @category conversions
 */
export const embeddingConfigFromKVConfig = (kv: KVConfig): EmbeddingLoadConfig => {
  const { read, readCheckbox, readGpuSplit } = fieldReader(kv)
  const out: Mutable<EmbeddingLoadConfig> = {}
  const gpu = readGpuSplit()
  if (gpu !== undefined) out.gpu = gpu
  const set = <K extends keyof EmbeddingLoadConfig>(key: K, value: EmbeddingLoadConfig[K] | undefined): void => {
    if (value !== undefined) out[key] = value
  }
  set("contextLength", read(embeddingKeys.contextLength, PositiveInt))
  set("ropeFrequencyBase", readCheckbox(embeddingKeys.ropeFrequencyBase, Schema.Finite))
  set("ropeFrequencyScale", readCheckbox(embeddingKeys.ropeFrequencyScale, Schema.Finite))
  set("keepModelInMemory", read(embeddingKeys.keepModelInMemory, Schema.Boolean))
  set("tryMmap", read(embeddingKeys.tryMmap, Schema.Boolean))
  return out
}
