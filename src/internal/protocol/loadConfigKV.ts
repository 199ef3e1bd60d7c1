/**
 * Load configs ↔ KV fields: one table per domain, in the official client's order, from which
 * both directions are derived.
 *
 * The LLM table starts with the fields @lmstudio/sdk 1.5.0 knows, in the order it sends them (so
 * the same config produces the same frame), then the newer fields in the current client's
 * order. Only the fields set are sent; `{}` sends nothing, which keeps every server default.
 *
 * @internal
 */
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type { Mutable } from "effect/Types"
import {
  type EmbeddingGpuSetting,
  EmbeddingLoadConfig,
  GpuOffloadRatio,
  LlmLoadConfig,
  MlxKvCacheQuantization
} from "../../LoadConfig.js"
import { repairCrossFields } from "../configSchema.js"
import { speculativeRules } from "../loadConfigRules.js"
import type { KVConfig, KVConfigField } from "./kvConfig.js"
import { type Codec, type KVRow, plain, readRows, rowsFor, writeRows } from "./kvFieldTable.js"

// ---------------------------------------------------------------------------------------------
// shared by both domains: the GPU split
// ---------------------------------------------------------------------------------------------

const GPU_SPLIT_KEY = "load.gpuSplitConfig"

const GpuIndex = Schema.Int.pipe(Schema.greaterThanOrEqualTo(0))
const decodeGpuIndex = Schema.decodeUnknownOption(GpuIndex)
const decodeGpuIndices = Schema.decodeUnknownOption(Schema.Array(GpuIndex))

/** `gpu` in the config being read (created on first use). */
const gpuOf = (into: Record<string, unknown>): Mutable<EmbeddingGpuSetting> & Record<string, unknown> =>
  (into["gpu"] ??= {}) as Mutable<EmbeddingGpuSetting> & Record<string, unknown>

/**
 * `gpu` ↔ `load.gpuSplitConfig`: `favorMainGpu` is `priorityOrder`, `mainGpu` is the first entry
 * of `priority` (whatever the strategy). Read back, the defaults (`"evenly"`, no disabled GPUs)
 * are left out, and a strategy the user type cannot express is dropped.
 */
const gpuSplitRow = <C extends { readonly gpu?: EmbeddingGpuSetting }>(): KVRow<C> => ({
  key: GPU_SPLIT_KEY,
  write: ({ gpu }) =>
    gpu === undefined ? undefined : {
      strategy: gpu.splitStrategy === "favorMainGpu" ? "priorityOrder" : gpu.splitStrategy ?? "evenly",
      disabledGpus: [...(gpu.disabledGpus ?? [])],
      priority: gpu.mainGpu !== undefined ? [gpu.mainGpu] : [],
      customRatio: []
    },
  read: (raw, into) => {
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return
    const split = raw as Record<string, unknown>
    const gpu = gpuOf(into)
    if (split["strategy"] === "priorityOrder") gpu.splitStrategy = "favorMainGpu"
    if (Array.isArray(split["priority"])) {
      const mainGpu = Option.getOrUndefined(decodeGpuIndex(split["priority"][0]))
      if (mainGpu !== undefined) gpu.mainGpu = mainGpu
    }
    const disabled = Option.getOrUndefined(decodeGpuIndices(split["disabledGpus"]))
    if (disabled !== undefined && disabled.length > 0) gpu.disabledGpus = disabled
  }
})

/** One offload ratio of an LLM's `gpu`, carried in a key of its own. */
const gpuRatioRow = (name: "ratio" | "numCpuExpertLayersRatio", key: string): KVRow<LlmLoadConfig> => {
  const codec = plain(GpuOffloadRatio)
  return {
    key,
    write: (config) => config.gpu?.[name],
    read: (raw, into) => {
      const ratio = codec.decode(raw)
      if (ratio !== undefined) gpuOf(into)[name] = ratio
    }
  }
}

// ---------------------------------------------------------------------------------------------
// LLM
// ---------------------------------------------------------------------------------------------

const L = "llm.load."
const SD = "llm.load.llama.speculativeDecoding."

/** The wire form of `mlxKvCacheQuantization: false`. */
const mlxOff = { enabled: false, bits: 8, groupSize: 64, quantizedStart: 5000 } as const

const isMlxOff = (raw: unknown): boolean =>
  typeof raw === "object" && raw !== null &&
  Object.entries(mlxOff).every(([key, value]) => (raw as Record<string, unknown>)[key] === value)

const mlxCodec: Codec<MlxKvCacheQuantization | false> = (() => {
  const quantization = plain(MlxKvCacheQuantization)
  return {
    encode: (value) => value === false ? { ...mlxOff } : quantization.encode(value),
    decode: (raw) => isMlxOff(raw) ? false : quantization.decode(raw)
  }
})()

/**
 * Internal selectors the official client clears whenever a public speculative selector is set;
 * they are written, never read.
 */
const sidecarRows: ReadonlyArray<KVRow<LlmLoadConfig>> = ["Dflash", "Dspark", "Mtp"].map((name) => ({
  key: `${SD}draft${name}Sidecar`,
  write: (c) =>
    c.speculativeDraftMtp !== undefined || c.speculativeDraftSimple !== undefined ||
      c.speculativeDraftModel !== undefined
      ? false
      : undefined,
  read: () => {}
}))

const llm = rowsFor(LlmLoadConfig.from.fields)

const llmRows: ReadonlyArray<KVRow<LlmLoadConfig>> = [
  llm.field("contextLength", `${L}contextLength`),
  llm.field("evalBatchSize", `${L}llama.evalBatchSize`),
  gpuRatioRow("ratio", `${L}llama.acceleration.offloadRatio`),
  gpuSplitRow(),
  llm.field("flashAttention", `${L}llama.flashAttention`),
  llm.checkbox("ropeFrequencyBase", `${L}llama.ropeFrequencyBase`, 0),
  llm.checkbox("ropeFrequencyScale", `${L}llama.ropeFrequencyScale`, 0),
  llm.field("keepModelInMemory", `${L}llama.keepModelInMemory`),
  llm.checkbox("seed", `${L}seed`, 0),
  llm.field("useFp16ForKVCache", `${L}llama.useFp16ForKVCache`),
  llm.field("tryMmap", `${L}llama.tryMmap`),
  llm.field("numExperts", `${L}numExperts`),
  llm.checkbox("llamaKCacheQuantizationType", `${L}llama.kCacheQuantizationType`, "f16"),
  llm.checkbox("llamaVCacheQuantizationType", `${L}llama.vCacheQuantizationType`, "f16"),
  // Not known to 1.5.0: the current client's order.
  gpuRatioRow("numCpuExpertLayersRatio", `${L}numCpuExpertLayersRatio`),
  llm.field("gpuStrictVramCap", "load.gpuStrictVramCap"),
  llm.field("maxParallelPredictions", `${L}numParallelSessions`),
  llm.field("useUnifiedKvCache", `${L}useUnifiedKvCache`),
  llm.field("offloadKVCacheToGpu", `${L}offloadKVCacheToGpu`),
  llm.field("promptTemplate", `${L}promptTemplate`),
  llm.field("physicalBatchSize", `${L}llama.physicalBatchSize`),
  llm.field("contextCheckpoints", `${L}llama.contextCheckpoints`),
  llm.field("reasoningBudgetMessage", `${L}llama.reasoningBudgetMessage`),
  llm.field("speculativeDraftMtp", `${SD}draftMtp`),
  llm.field("speculativeDraftSimple", `${SD}draftSimple`),
  llm.field("speculativeDraftModel", `${SD}draftModel`),
  ...sidecarRows,
  llm.field("speculativeDraftMaxTokens", `${SD}draftMaxTokens`),
  llm.field("speculativeDraftMinTokens", `${SD}draftMinTokens`),
  llm.field("speculativeDraftMinContinueProbability", `${SD}draftMinContinueProbability`),
  llm.field("tryDirectIO", `${L}llama.tryDirectIO`),
  llm.field("mlxDiskCache", `${L}mlx.diskCache`),
  llm.custom("mlxKvCacheQuantization", `${L}mlx.kvCacheQuantization`, mlxCodec)
]

/**
 * The KV-config fields an LLM load sends for a config: only the fields set, with full dotted
 * keys, in the official client's order. Validate the config first with `validateLlmLoadConfig`.
 */
export const llmConfigToKVFields = (config: LlmLoadConfig): ReadonlyArray<KVConfigField> =>
  writeRows(llmRows, config)

/**
 * Reads an LLM load config back from KV-config fields with full keys, e.g. the effective config
 * a server reports for a loaded instance. Unknown keys and values that do not fit are skipped;
 * it never throws. An unchecked checkbox reads as `false`; only the exact wire form of
 * `mlxKvCacheQuantization: false` reads back as `false`. Speculative fields that would break the
 * cross-field rules (a stale draft model, say) are dropped, so the result always passes
 * `validateLlmLoadConfig`. `llmConfigFromKVConfig({ fields: llmConfigToKVFields(c) })` equals `c`
 * up to the GPU split's defaults.
 */
export const llmConfigFromKVConfig = (kv: KVConfig): LlmLoadConfig => {
  const config = readRows(llmRows, kv).config as Mutable<LlmLoadConfig>
  repairCrossFields(speculativeRules, config)
  return config
}

// ---------------------------------------------------------------------------------------------
// embedding
// ---------------------------------------------------------------------------------------------

const E = "embedding.load."
const embedding = rowsFor(EmbeddingLoadConfig.fields)

// The current client sends no offload ratio for embedding models (1.5.0 did).
const embeddingRows: ReadonlyArray<KVRow<EmbeddingLoadConfig>> = [
  gpuSplitRow(),
  embedding.field("contextLength", `${E}contextLength`),
  embedding.checkbox("ropeFrequencyBase", `${E}llama.ropeFrequencyBase`, 0),
  embedding.checkbox("ropeFrequencyScale", `${E}llama.ropeFrequencyScale`, 0),
  embedding.field("keepModelInMemory", `${E}llama.keepModelInMemory`),
  embedding.field("tryMmap", `${E}llama.tryMmap`)
]

/** The KV-config fields an embedding-model load sends for a config; see `llmConfigToKVFields`. */
export const embeddingConfigToKVFields = (config: EmbeddingLoadConfig): ReadonlyArray<KVConfigField> =>
  writeRows(embeddingRows, config)

/** Reads an embedding-model load config back from KV fields; see `llmConfigFromKVConfig`. */
export const embeddingConfigFromKVConfig = (kv: KVConfig): EmbeddingLoadConfig =>
  readRows(embeddingRows, kv).config
