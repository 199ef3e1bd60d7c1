import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import type { KVConfigField } from "../src/internal/protocol/kvConfig.js"
import {
  embeddingConfigFromKVConfig,
  embeddingConfigToKVFields,
  llmConfigFromKVConfig,
  llmConfigToKVFields
} from "../src/internal/protocol/loadConfigKV.js"
import {
  EmbeddingLoadConfig,
  LlmLoadConfig,
  type PromptTemplate,
  validateEmbeddingLoadConfig,
  validateLlmLoadConfig
} from "../src/LoadConfig.js"

const SD = "llm.load.llama.speculativeDecoding."
const sidecars: ReadonlyArray<KVConfigField> = [
  { key: `${SD}draftDflashSidecar`, value: false },
  { key: `${SD}draftDsparkSidecar`, value: false },
  { key: `${SD}draftMtpSidecar`, value: false }
]
const split = (
  strategy: string,
  disabledGpus: ReadonlyArray<number> = [],
  priority: ReadonlyArray<number> = []
): KVConfigField => ({ key: "load.gpuSplitConfig", value: { strategy, disabledGpus, priority, customRatio: [] } })
const defaultSplit = split("evenly")

/** A config with every field set, in the protocol table's order (§6.1). */
const fullLlm: LlmLoadConfig = {
  gpu: { ratio: 0.75, numCpuExpertLayersRatio: 0.25, mainGpu: 1, splitStrategy: "favorMainGpu", disabledGpus: [2, 3] },
  gpuStrictVramCap: true,
  maxParallelPredictions: 4,
  useUnifiedKvCache: false,
  offloadKVCacheToGpu: true,
  contextLength: 8192,
  promptTemplate: { type: "jinja", jinjaPromptTemplate: "{{ messages }}" },
  ropeFrequencyBase: 10000,
  ropeFrequencyScale: false,
  evalBatchSize: 512,
  physicalBatchSize: 256,
  flashAttention: true,
  contextCheckpoints: 0,
  reasoningBudgetMessage: "Time to answer.",
  speculativeDraftMtp: false,
  speculativeDraftSimple: true,
  speculativeDraftModel: "qwen/qwen3-0.6b",
  speculativeDraftMaxTokens: 16,
  speculativeDraftMinTokens: 2,
  speculativeDraftMinContinueProbability: 0.75,
  keepModelInMemory: true,
  seed: 11434,
  useFp16ForKVCache: false,
  tryMmap: true,
  tryDirectIO: false,
  numExperts: 4,
  llamaKCacheQuantizationType: "q8_0",
  llamaVCacheQuantizationType: false,
  mlxDiskCache: true,
  mlxKvCacheQuantization: { enabled: true, bits: 4, groupSize: 64, quantizedStart: 1000 }
}

/** `fullLlm`'s fields: first those 1.5.0 knows, in 1.5.0's order (measured), then the newer ones. */
const fullLlmFields: ReadonlyArray<KVConfigField> = [
  { key: "llm.load.contextLength", value: 8192 },
  { key: "llm.load.llama.evalBatchSize", value: 512 },
  { key: "llm.load.llama.acceleration.offloadRatio", value: 0.75 },
  split("priorityOrder", [2, 3], [1]),
  { key: "llm.load.llama.flashAttention", value: true },
  { key: "llm.load.llama.ropeFrequencyBase", value: { checked: true, value: 10000 } },
  { key: "llm.load.llama.ropeFrequencyScale", value: { checked: false, value: 0 } },
  { key: "llm.load.llama.keepModelInMemory", value: true },
  { key: "llm.load.seed", value: { checked: true, value: 11434 } },
  { key: "llm.load.llama.useFp16ForKVCache", value: false },
  { key: "llm.load.llama.tryMmap", value: true },
  { key: "llm.load.numExperts", value: 4 },
  { key: "llm.load.llama.kCacheQuantizationType", value: { checked: true, value: "q8_0" } },
  { key: "llm.load.llama.vCacheQuantizationType", value: { checked: false, value: "f16" } },
  { key: "llm.load.numCpuExpertLayersRatio", value: 0.25 },
  { key: "load.gpuStrictVramCap", value: true },
  { key: "llm.load.numParallelSessions", value: 4 },
  { key: "llm.load.useUnifiedKvCache", value: false },
  { key: "llm.load.offloadKVCacheToGpu", value: true },
  { key: "llm.load.promptTemplate", value: { type: "jinja", jinjaPromptTemplate: "{{ messages }}" } },
  { key: "llm.load.llama.physicalBatchSize", value: 256 },
  { key: "llm.load.llama.contextCheckpoints", value: 0 },
  { key: "llm.load.llama.reasoningBudgetMessage", value: "Time to answer." },
  { key: `${SD}draftMtp`, value: false },
  { key: `${SD}draftSimple`, value: true },
  { key: `${SD}draftModel`, value: "qwen/qwen3-0.6b" },
  ...sidecars,
  { key: `${SD}draftMaxTokens`, value: 16 },
  { key: `${SD}draftMinTokens`, value: 2 },
  { key: `${SD}draftMinContinueProbability`, value: 0.75 },
  { key: "llm.load.llama.tryDirectIO", value: false },
  { key: "llm.load.mlx.diskCache", value: true },
  { key: "llm.load.mlx.kvCacheQuantization", value: { enabled: true, bits: 4, groupSize: 64, quantizedStart: 1000 } }
]

/** Every field set again, with the other value forms (false where `fullLlm` has a value, ...). */
const fullLlmAlt: LlmLoadConfig = {
  gpu: { ratio: "max", numCpuExpertLayersRatio: "off", mainGpu: 0 },
  gpuStrictVramCap: false,
  maxParallelPredictions: 1023,
  useUnifiedKvCache: true,
  offloadKVCacheToGpu: false,
  contextLength: 1,
  promptTemplate: { type: "jinja", jinjaPromptTemplate: "" },
  ropeFrequencyBase: false,
  ropeFrequencyScale: 0.5,
  evalBatchSize: 1,
  physicalBatchSize: 1,
  flashAttention: false,
  contextCheckpoints: 8,
  reasoningBudgetMessage: "",
  speculativeDraftMtp: true,
  speculativeDraftSimple: false,
  speculativeDraftModel: "",
  speculativeDraftMaxTokens: 0,
  speculativeDraftMinTokens: 0,
  speculativeDraftMinContinueProbability: 0,
  keepModelInMemory: false,
  seed: false,
  useFp16ForKVCache: true,
  tryMmap: false,
  tryDirectIO: true,
  numExperts: 1,
  llamaKCacheQuantizationType: false,
  llamaVCacheQuantizationType: "iq4_nl",
  mlxDiskCache: false,
  mlxKvCacheQuantization: false
}

const fullEmbedding: EmbeddingLoadConfig = {
  gpu: { mainGpu: 0, splitStrategy: "favorMainGpu", disabledGpus: [1] },
  contextLength: 2048,
  ropeFrequencyBase: 10000,
  ropeFrequencyScale: false,
  keepModelInMemory: true,
  tryMmap: false
}

const fullEmbeddingFields: ReadonlyArray<KVConfigField> = [
  split("priorityOrder", [1], [0]),
  { key: "embedding.load.contextLength", value: 2048 },
  { key: "embedding.load.llama.ropeFrequencyBase", value: { checked: true, value: 10000 } },
  { key: "embedding.load.llama.ropeFrequencyScale", value: { checked: false, value: 0 } },
  { key: "embedding.load.llama.keepModelInMemory", value: true },
  { key: "embedding.load.llama.tryMmap", value: false }
]

const llmRoundTrip = (config: LlmLoadConfig): LlmLoadConfig =>
  llmConfigFromKVConfig({ fields: llmConfigToKVFields(config) })
const embeddingRoundTrip = (config: EmbeddingLoadConfig): EmbeddingLoadConfig =>
  embeddingConfigFromKVConfig({ fields: embeddingConfigToKVFields(config) })

describe("LoadConfig", () => {
  describe("llmConfigToKVFields", () => {
    it("sends nothing for an empty config (server keeps its defaults, GPU included)", () => {
      assert.deepStrictEqual(llmConfigToKVFields({}), [])
    })

    it("maps a config with every field to the exact keys, in the official client's order", () => {
      assert.deepStrictEqual(llmConfigToKVFields(fullLlm), fullLlmFields)
    })

    it("has a KV field for every field of the Schema", () => {
      for (const name of Object.keys(LlmLoadConfig.from.fields)) {
        const value = fullLlm[name as keyof LlmLoadConfig]
        assert.isDefined(value, `fullLlm sets ${name}`)
        assert.isNotEmpty(llmConfigToKVFields({ [name]: value }), `${name} is sent`)
      }
      for (const name of Object.keys(EmbeddingLoadConfig.fields)) {
        const value = fullEmbedding[name as keyof EmbeddingLoadConfig]
        assert.isDefined(value, `fullEmbedding sets ${name}`)
        assert.isNotEmpty(embeddingConfigToKVFields({ [name]: value }), `${name} is sent`)
      }
    })

    const table: ReadonlyArray<readonly [string, LlmLoadConfig, ReadonlyArray<KVConfigField>]> = [
      ["gpu {}", { gpu: {} }, [defaultSplit]],
      ["gpu.ratio number", { gpu: { ratio: 0.5 } }, [defaultSplit, {
        key: "llm.load.llama.acceleration.offloadRatio",
        value: 0.5
      }]],
      ["gpu.ratio max", { gpu: { ratio: "max" } }, [defaultSplit, {
        key: "llm.load.llama.acceleration.offloadRatio",
        value: "max"
      }]],
      ["gpu.ratio off", { gpu: { ratio: "off" } }, [defaultSplit, {
        key: "llm.load.llama.acceleration.offloadRatio",
        value: "off"
      }]],
      ["gpu.numCpuExpertLayersRatio", { gpu: { numCpuExpertLayersRatio: 1 } }, [defaultSplit, {
        key: "llm.load.numCpuExpertLayersRatio",
        value: 1
      }]],
      ["gpu favorMainGpu without mainGpu", { gpu: { splitStrategy: "favorMainGpu" } }, [split("priorityOrder")]],
      ["gpu favorMainGpu + mainGpu 0 (GPU 0 kept)", { gpu: { splitStrategy: "favorMainGpu", mainGpu: 0 } }, [
        split("priorityOrder", [], [0])
      ]],
      ["gpu mainGpu 0 without strategy", { gpu: { mainGpu: 0 } }, [split("evenly", [], [0])]],
      ["gpu evenly + mainGpu 2", { gpu: { splitStrategy: "evenly", mainGpu: 2 } }, [split("evenly", [], [2])]],
      ["gpu disabledGpus", { gpu: { disabledGpus: [0, 2] } }, [split("evenly", [0, 2])]],
      ["gpuStrictVramCap", { gpuStrictVramCap: true }, [{ key: "load.gpuStrictVramCap", value: true }]],
      ["maxParallelPredictions", { maxParallelPredictions: 8 }, [{ key: "llm.load.numParallelSessions", value: 8 }]],
      ["useUnifiedKvCache", { useUnifiedKvCache: true }, [{ key: "llm.load.useUnifiedKvCache", value: true }]],
      ["offloadKVCacheToGpu", { offloadKVCacheToGpu: false }, [{ key: "llm.load.offloadKVCacheToGpu", value: false }]],
      ["contextLength", { contextLength: 4096 }, [{ key: "llm.load.contextLength", value: 4096 }]],
      ["promptTemplate", { promptTemplate: { type: "jinja", jinjaPromptTemplate: "x" } }, [{
        key: "llm.load.promptTemplate",
        value: { type: "jinja", jinjaPromptTemplate: "x" }
      }]],
      ["ropeFrequencyBase number", { ropeFrequencyBase: 1e6 }, [{
        key: "llm.load.llama.ropeFrequencyBase",
        value: { checked: true, value: 1e6 }
      }]],
      ["ropeFrequencyBase 0 is sent checked", { ropeFrequencyBase: 0 }, [{
        key: "llm.load.llama.ropeFrequencyBase",
        value: { checked: true, value: 0 }
      }]],
      ["ropeFrequencyBase false", { ropeFrequencyBase: false }, [{
        key: "llm.load.llama.ropeFrequencyBase",
        value: { checked: false, value: 0 }
      }]],
      ["ropeFrequencyScale number", { ropeFrequencyScale: 2 }, [{
        key: "llm.load.llama.ropeFrequencyScale",
        value: { checked: true, value: 2 }
      }]],
      ["ropeFrequencyScale false", { ropeFrequencyScale: false }, [{
        key: "llm.load.llama.ropeFrequencyScale",
        value: { checked: false, value: 0 }
      }]],
      ["evalBatchSize", { evalBatchSize: 512 }, [{ key: "llm.load.llama.evalBatchSize", value: 512 }]],
      ["physicalBatchSize", { physicalBatchSize: 128 }, [{ key: "llm.load.llama.physicalBatchSize", value: 128 }]],
      ["flashAttention", { flashAttention: true }, [{ key: "llm.load.llama.flashAttention", value: true }]],
      ["contextCheckpoints", { contextCheckpoints: 0 }, [{ key: "llm.load.llama.contextCheckpoints", value: 0 }]],
      ["reasoningBudgetMessage", { reasoningBudgetMessage: "Stop." }, [{
        key: "llm.load.llama.reasoningBudgetMessage",
        value: "Stop."
      }]],
      ["speculativeDraftMtp true", { speculativeDraftMtp: true }, [{ key: `${SD}draftMtp`, value: true }, ...sidecars]],
      ["speculativeDraftMtp false", { speculativeDraftMtp: false }, [
        { key: `${SD}draftMtp`, value: false },
        ...sidecars
      ]],
      ["speculativeDraftSimple false", { speculativeDraftSimple: false }, [
        { key: `${SD}draftSimple`, value: false },
        ...sidecars
      ]],
      ["speculativeDraftSimple + speculativeDraftModel", {
        speculativeDraftSimple: true,
        speculativeDraftModel: "org/draft"
      }, [
        { key: `${SD}draftSimple`, value: true },
        { key: `${SD}draftModel`, value: "org/draft" },
        ...sidecars
      ]],
      ["speculativeDraftModel empty", { speculativeDraftModel: "" }, [
        { key: `${SD}draftModel`, value: "" },
        ...sidecars
      ]],
      ["speculativeDraftMaxTokens (no sidecars)", { speculativeDraftMaxTokens: 8 }, [{
        key: `${SD}draftMaxTokens`,
        value: 8
      }]],
      ["speculativeDraftMinTokens (no sidecars)", { speculativeDraftMinTokens: 1 }, [{
        key: `${SD}draftMinTokens`,
        value: 1
      }]],
      ["speculativeDraftMinContinueProbability", { speculativeDraftMinContinueProbability: 0.5 }, [{
        key: `${SD}draftMinContinueProbability`,
        value: 0.5
      }]],
      ["keepModelInMemory", { keepModelInMemory: false }, [{ key: "llm.load.llama.keepModelInMemory", value: false }]],
      ["seed number", { seed: 11434 }, [{ key: "llm.load.seed", value: { checked: true, value: 11434 } }]],
      ["seed -1 is sent checked", { seed: -1 }, [{ key: "llm.load.seed", value: { checked: true, value: -1 } }]],
      ["seed false", { seed: false }, [{ key: "llm.load.seed", value: { checked: false, value: 0 } }]],
      ["useFp16ForKVCache", { useFp16ForKVCache: true }, [{ key: "llm.load.llama.useFp16ForKVCache", value: true }]],
      ["tryMmap", { tryMmap: false }, [{ key: "llm.load.llama.tryMmap", value: false }]],
      ["tryDirectIO", { tryDirectIO: true }, [{ key: "llm.load.llama.tryDirectIO", value: true }]],
      ["numExperts", { numExperts: 2 }, [{ key: "llm.load.numExperts", value: 2 }]],
      ["llamaKCacheQuantizationType", { llamaKCacheQuantizationType: "q4_0" }, [{
        key: "llm.load.llama.kCacheQuantizationType",
        value: { checked: true, value: "q4_0" }
      }]],
      ["llamaKCacheQuantizationType false", { llamaKCacheQuantizationType: false }, [{
        key: "llm.load.llama.kCacheQuantizationType",
        value: { checked: false, value: "f16" }
      }]],
      ["llamaVCacheQuantizationType", { llamaVCacheQuantizationType: "f32" }, [{
        key: "llm.load.llama.vCacheQuantizationType",
        value: { checked: true, value: "f32" }
      }]],
      ["llamaVCacheQuantizationType false", { llamaVCacheQuantizationType: false }, [{
        key: "llm.load.llama.vCacheQuantizationType",
        value: { checked: false, value: "f16" }
      }]],
      ["mlxDiskCache", { mlxDiskCache: true }, [{ key: "llm.load.mlx.diskCache", value: true }]],
      ["mlxKvCacheQuantization object", {
        mlxKvCacheQuantization: { enabled: true, bits: 8, groupSize: 32, quantizedStart: 0 }
      }, [{
        key: "llm.load.mlx.kvCacheQuantization",
        value: { enabled: true, bits: 8, groupSize: 32, quantizedStart: 0 }
      }]],
      ["mlxKvCacheQuantization false", { mlxKvCacheQuantization: false }, [{
        key: "llm.load.mlx.kvCacheQuantization",
        value: { enabled: false, bits: 8, groupSize: 64, quantizedStart: 5000 }
      }]]
    ]

    const byKey = (fields: ReadonlyArray<KVConfigField>) => [...fields].sort((a, b) => a.key.localeCompare(b.key))
    for (const [name, config, expected] of table) {
      it(`${name} → ${expected.map((f) => f.key).join(", ")}`, () => {
        assert.deepStrictEqual(byKey(llmConfigToKVFields(config)), byKey(expected))
      })
    }

    it("does not copy extra keys of nested objects onto the wire", () => {
      const promptTemplate = { type: "jinja", jinjaPromptTemplate: "t", extra: 1 } as PromptTemplate
      assert.deepStrictEqual(llmConfigToKVFields({ promptTemplate }), [
        { key: "llm.load.promptTemplate", value: { type: "jinja", jinjaPromptTemplate: "t" } }
      ])
    })
  })

  describe("embeddingConfigToKVFields", () => {
    it("sends nothing for an empty config", () => {
      assert.deepStrictEqual(embeddingConfigToKVFields({}), [])
    })

    it("maps a config with every field to the exact keys, in the protocol table's order", () => {
      assert.deepStrictEqual(embeddingConfigToKVFields(fullEmbedding), fullEmbeddingFields)
    })

    const table: ReadonlyArray<readonly [string, EmbeddingLoadConfig, ReadonlyArray<KVConfigField>]> = [
      ["gpu {}", { gpu: {} }, [defaultSplit]],
      ["gpu mainGpu 0 (GPU 0 kept)", { gpu: { mainGpu: 0 } }, [split("evenly", [], [0])]],
      ["gpu favorMainGpu", { gpu: { splitStrategy: "favorMainGpu", mainGpu: 3 } }, [split("priorityOrder", [], [3])]],
      ["gpu disabledGpus", { gpu: { disabledGpus: [1] } }, [split("evenly", [1])]],
      ["contextLength", { contextLength: 512 }, [{ key: "embedding.load.contextLength", value: 512 }]],
      ["ropeFrequencyBase number", { ropeFrequencyBase: 500 }, [{
        key: "embedding.load.llama.ropeFrequencyBase",
        value: { checked: true, value: 500 }
      }]],
      ["ropeFrequencyBase false", { ropeFrequencyBase: false }, [{
        key: "embedding.load.llama.ropeFrequencyBase",
        value: { checked: false, value: 0 }
      }]],
      ["ropeFrequencyScale number", { ropeFrequencyScale: 1.5 }, [{
        key: "embedding.load.llama.ropeFrequencyScale",
        value: { checked: true, value: 1.5 }
      }]],
      ["ropeFrequencyScale false", { ropeFrequencyScale: false }, [{
        key: "embedding.load.llama.ropeFrequencyScale",
        value: { checked: false, value: 0 }
      }]],
      ["keepModelInMemory", { keepModelInMemory: true }, [{ key: "embedding.load.llama.keepModelInMemory", value: true }]],
      ["tryMmap", { tryMmap: true }, [{ key: "embedding.load.llama.tryMmap", value: true }]]
    ]

    for (const [name, config, expected] of table) {
      it(`${name} → ${expected.map((f) => f.key).join(", ")}`, () => {
        assert.deepStrictEqual(embeddingConfigToKVFields(config), expected)
      })
    }

    it("never sends an offload ratio (HEAD behaviour)", () => {
      const config = { gpu: { ratio: 0.5, numCpuExpertLayersRatio: 0.5, mainGpu: 1 } } as unknown as EmbeddingLoadConfig
      assert.deepStrictEqual(embeddingConfigToKVFields(config), [split("evenly", [], [1])])
    })
  })

  describe("llmConfigFromKVConfig", () => {
    it("round-trips a config with every field set", () => {
      assert.deepStrictEqual(llmRoundTrip(fullLlm), fullLlm)
    })

    it("round-trips every field's other value forms", () => {
      assert.deepStrictEqual(llmRoundTrip(fullLlmAlt), fullLlmAlt)
    })

    it("round-trips each single-field config", () => {
      const singles: ReadonlyArray<LlmLoadConfig> = [
        {},
        { gpu: {} },
        { gpu: { ratio: 0 } },
        { gpu: { mainGpu: 0 } },
        { gpu: { splitStrategy: "favorMainGpu" } },
        { gpu: { splitStrategy: "favorMainGpu", mainGpu: 0 } },
        { gpu: { disabledGpus: [0] } },
        { gpu: { numCpuExpertLayersRatio: "max" } },
        { seed: -1 },
        { seed: 0 },
        { seed: false },
        { ropeFrequencyBase: 0 },
        { ropeFrequencyScale: false },
        { speculativeDraftMtp: true },
        { speculativeDraftModel: "" },
        { speculativeDraftMinTokens: 3, speculativeDraftMaxTokens: 3 },
        { mlxKvCacheQuantization: { enabled: false, bits: 2, groupSize: 128, quantizedStart: 0 } },
        { mlxKvCacheQuantization: false },
        ...Object.entries(fullLlm).map(([key, value]) => ({ [key]: value }) as LlmLoadConfig)
          .filter((c) => !("speculativeDraftSimple" in c) && !("speculativeDraftModel" in c))
      ]
      for (const config of singles) assert.deepStrictEqual(llmRoundTrip(config), config)
    })

    it("leaves the GPU split's defaults out (the wire cannot tell them from absent)", () => {
      assert.deepStrictEqual(llmRoundTrip({ gpu: { splitStrategy: "evenly", disabledGpus: [] } }), { gpu: {} })
    })

    it("skips the speculative sidecar keys, unknown keys and values that do not fit", () => {
      const config = llmConfigFromKVConfig({
        fields: [
          ...sidecars,
          { key: "llm.prediction.temperature", value: 0.7 },
          { key: "llm.load.someFutureKey", value: 1 },
          { key: "llm.load.contextLength", value: 0 },
          { key: "llm.load.llama.evalBatchSize", value: 1.5 },
          { key: "llm.load.llama.flashAttention", value: "yes" },
          { key: "llm.load.seed", value: 42 },
          { key: "llm.load.llama.ropeFrequencyBase", value: { checked: true, value: "x" } },
          { key: "llm.load.llama.kCacheQuantizationType", value: { checked: true, value: "q9" } },
          { key: "llm.load.mlx.kvCacheQuantization", value: { enabled: true, bits: 5, groupSize: 64, quantizedStart: 0 } },
          { key: "llm.load.llama.acceleration.offloadRatio", value: 2 },
          { key: "llm.load.promptTemplate", value: { type: "handlebars", jinjaPromptTemplate: "" } },
          { key: "llm.load.numExperts" },
          { key: "llm.load.llama.tryMmap", value: true }
        ]
      })
      assert.deepStrictEqual(config, { tryMmap: true })
    })

    it("reads unchecked checkboxes as false", () => {
      const config = llmConfigFromKVConfig({
        fields: [
          { key: "llm.load.seed", value: { checked: false, value: 123 } },
          { key: "llm.load.llama.ropeFrequencyBase", value: { checked: false, value: 10000 } },
          { key: "llm.load.llama.ropeFrequencyScale", value: { checked: false, value: 0 } },
          { key: "llm.load.llama.kCacheQuantizationType", value: { checked: false, value: "q8_0" } },
          { key: "llm.load.llama.vCacheQuantizationType", value: { checked: false, value: "f16" } },
          { key: "llm.load.mlx.kvCacheQuantization", value: { enabled: false, bits: 8, groupSize: 64, quantizedStart: 5000 } }
        ]
      })
      assert.deepStrictEqual(config, {
        seed: false,
        ropeFrequencyBase: false,
        ropeFrequencyScale: false,
        llamaKCacheQuantizationType: false,
        llamaVCacheQuantizationType: false,
        mlxKvCacheQuantization: false
      })
    })

    it("maps the GPU split back: priorityOrder → favorMainGpu with mainGpu = priority[0]", () => {
      assert.deepStrictEqual(
        llmConfigFromKVConfig({ fields: [split("priorityOrder", [3], [2, 0])] }),
        { gpu: { splitStrategy: "favorMainGpu", mainGpu: 2, disabledGpus: [3] } }
      )
      assert.deepStrictEqual(llmConfigFromKVConfig({ fields: [split("evenly", [], [0])] }), { gpu: { mainGpu: 0 } })
      // Strategies the user type cannot express are left out; the rest is kept.
      assert.deepStrictEqual(llmConfigFromKVConfig({ fields: [split("custom", [1])] }), { gpu: { disabledGpus: [1] } })
      assert.deepStrictEqual(llmConfigFromKVConfig({ fields: [{ key: "load.gpuSplitConfig", value: "evenly" }] }), {})
    })

    it("builds gpu from the offload ratio alone", () => {
      assert.deepStrictEqual(
        llmConfigFromKVConfig({ fields: [{ key: "llm.load.llama.acceleration.offloadRatio", value: "max" }] }),
        { gpu: { ratio: "max" } }
      )
    })

    it("lets a later field with the same key win", () => {
      assert.deepStrictEqual(
        llmConfigFromKVConfig({
          fields: [{ key: "llm.load.contextLength", value: 4096 }, { key: "llm.load.contextLength", value: 8192 }]
        }),
        { contextLength: 8192 }
      )
    })

    it.effect("always returns a config that passes validation, even from a stale server config", () =>
      Effect.gen(function*() {
        const kvs: ReadonlyArray<ReadonlyArray<KVConfigField>> = [
          [{ key: `${SD}draftModel`, value: "org/draft" }, { key: `${SD}draftSimple`, value: false }],
          [{ key: `${SD}draftSimple`, value: true }, { key: `${SD}draftModel`, value: "" }],
          [{ key: `${SD}draftSimple`, value: true }, { key: `${SD}draftMtp`, value: true }, {
            key: `${SD}draftModel`,
            value: "m"
          }],
          [{ key: `${SD}draftMinTokens`, value: 9 }, { key: `${SD}draftMaxTokens`, value: 4 }],
          fullLlmFields
        ]
        for (const fields of kvs) {
          const config = llmConfigFromKVConfig({ fields })
          const validated = yield* validateLlmLoadConfig(config)
          assert.deepStrictEqual(validated, config)
        }
        assert.deepStrictEqual(
          llmConfigFromKVConfig({ fields: kvs[0] ?? [] }),
          { speculativeDraftSimple: false }
        )
      }))
  })

  describe("embeddingConfigFromKVConfig", () => {
    it("round-trips a config with every field set", () => {
      assert.deepStrictEqual(embeddingRoundTrip(fullEmbedding), fullEmbedding)
    })

    it("round-trips the other value forms", () => {
      const alt: EmbeddingLoadConfig = {
        gpu: { mainGpu: 2 },
        contextLength: 1,
        ropeFrequencyBase: false,
        ropeFrequencyScale: 0.25,
        keepModelInMemory: false,
        tryMmap: true
      }
      assert.deepStrictEqual(embeddingRoundTrip(alt), alt)
      assert.deepStrictEqual(embeddingRoundTrip({}), {})
      assert.deepStrictEqual(embeddingRoundTrip({ gpu: {} }), { gpu: {} })
    })

    it("ignores LLM keys and the 1.5.0 embedding offload ratio, and skips bad values", () => {
      assert.deepStrictEqual(
        embeddingConfigFromKVConfig({
          fields: [
            { key: "llm.load.contextLength", value: 4096 },
            { key: "embedding.load.llama.acceleration.offloadRatio", value: 0.5 },
            { key: "embedding.load.contextLength", value: -3 },
            { key: "embedding.load.llama.ropeFrequencyBase", value: { checked: false, value: 0 } },
            { key: "embedding.load.llama.tryMmap", value: false }
          ]
        }),
        { ropeFrequencyBase: false, tryMmap: false }
      )
    })
  })

  describe("validateLlmLoadConfig", () => {
    it.effect("accepts a config with every field set, and the other value forms", () =>
      Effect.gen(function*() {
        assert.deepStrictEqual(yield* validateLlmLoadConfig(fullLlm), fullLlm)
        assert.deepStrictEqual(yield* validateLlmLoadConfig(fullLlmAlt), fullLlmAlt)
        assert.deepStrictEqual(yield* validateLlmLoadConfig({}), {})
      }))

    it.effect("treats keys whose value is undefined as absent", () =>
      Effect.gen(function*() {
        const result = yield* validateLlmLoadConfig({ contextLength: undefined, seed: 3, gpu: { ratio: undefined } })
        assert.deepStrictEqual(result, { seed: 3, gpu: {} })
      }))

    it.effect("fails with a readable message", () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(validateLlmLoadConfig({ contextLength: 0 }))
        assert.strictEqual(error._tag, "InvalidArgumentError")
        assert.strictEqual(error.field, "config.contextLength")
        assert.strictEqual(error.reason, "must be an integer >= 1, got 0")
        assert.strictEqual(error.message, "Invalid config.contextLength: must be an integer >= 1, got 0")
      }))

    const invalid: ReadonlyArray<readonly [string, unknown, string, string?]> = [
      ["contextLength 0", { contextLength: 0 }, "config.contextLength", "must be an integer >= 1, got 0"],
      ["contextLength -1", { contextLength: -1 }, "config.contextLength", "must be an integer >= 1, got -1"],
      ["contextLength 1.5", { contextLength: 1.5 }, "config.contextLength", "must be an integer >= 1, got 1.5"],
      ["contextLength NaN", { contextLength: NaN }, "config.contextLength", "must be an integer >= 1, got NaN"],
      ["contextLength Infinity", { contextLength: Infinity }, "config.contextLength"],
      ["contextLength wrong type", { contextLength: "4096" }, "config.contextLength", `must be an integer >= 1, got "4096"`],
      ["contextLength null", { contextLength: null }, "config.contextLength"],
      ["gpu.ratio 1.5", { gpu: { ratio: 1.5 } }, "config.gpu.ratio", `must be a number between 0 and 1, "max" or "off", got 1.5`],
      ["gpu.ratio -0.1", { gpu: { ratio: -0.1 } }, "config.gpu.ratio"],
      ["gpu.ratio NaN", { gpu: { ratio: NaN } }, "config.gpu.ratio"],
      ["gpu.ratio bad string", { gpu: { ratio: "all" } }, "config.gpu.ratio"],
      ["gpu.numCpuExpertLayersRatio 2", { gpu: { numCpuExpertLayersRatio: 2 } }, "config.gpu.numCpuExpertLayersRatio"],
      ["gpu.mainGpu -1", { gpu: { mainGpu: -1 } }, "config.gpu.mainGpu"],
      ["gpu.mainGpu 0.5", { gpu: { mainGpu: 0.5 } }, "config.gpu.mainGpu"],
      ["gpu.splitStrategy bad enum", { gpu: { splitStrategy: "priorityOrder" } }, "config.gpu.splitStrategy"],
      ["gpu.disabledGpus element", { gpu: { disabledGpus: [0, -1] } }, "config.gpu.disabledGpus[1]"],
      ["gpu.disabledGpus not an array", { gpu: { disabledGpus: 1 } }, "config.gpu.disabledGpus"],
      ["gpu wrong type", { gpu: "max" }, "config.gpu", `must be a GPU setting object, got "max"`],
      ["gpu unknown key", { gpu: { ratios: 1 } }, "config.gpu.ratios", "is not a known field"],
      ["unknown key", { foo: 1 }, "config.foo", "is not a known load-config field"],
      ["gpu key at top level", { ratio: 0.5 }, "config.ratio", "is not a known load-config field (did you mean gpu.ratio?)"],
      ["unknown key reported before other errors", { contextLength: 0, foo: 1 }, "config.foo"],
      ["not an object", null, "config", "must be an object, got null"],
      ["an array", [], "config"],
      ["boolean wrong type", { flashAttention: "true" }, "config.flashAttention", `must be a boolean, got "true"`],
      ["gpuStrictVramCap wrong type", { gpuStrictVramCap: 1 }, "config.gpuStrictVramCap"],
      ["maxParallelPredictions 0", { maxParallelPredictions: 0 }, "config.maxParallelPredictions"],
      ["maxParallelPredictions 1024", { maxParallelPredictions: 1024 }, "config.maxParallelPredictions"],
      ["evalBatchSize 0", { evalBatchSize: 0 }, "config.evalBatchSize"],
      ["physicalBatchSize 2.5", { physicalBatchSize: 2.5 }, "config.physicalBatchSize"],
      ["contextCheckpoints -1", { contextCheckpoints: -1 }, "config.contextCheckpoints"],
      ["reasoningBudgetMessage wrong type", { reasoningBudgetMessage: 1 }, "config.reasoningBudgetMessage"],
      ["promptTemplate bad type", { promptTemplate: { type: "handlebars", jinjaPromptTemplate: "" } }, "config.promptTemplate.type"],
      ["promptTemplate missing template", { promptTemplate: { type: "jinja" } }, "config.promptTemplate.jinjaPromptTemplate", "is required"],
      ["promptTemplate a string", { promptTemplate: "{{x}}" }, "config.promptTemplate"],
      ["ropeFrequencyBase NaN", { ropeFrequencyBase: NaN }, "config.ropeFrequencyBase", "must be a finite number or false, got NaN"],
      ["ropeFrequencyScale Infinity", { ropeFrequencyScale: -Infinity }, "config.ropeFrequencyScale"],
      ["ropeFrequencyBase true", { ropeFrequencyBase: true }, "config.ropeFrequencyBase"],
      ["seed 1.5", { seed: 1.5 }, "config.seed", "must be an integer or false, got 1.5"],
      ["seed true", { seed: true }, "config.seed"],
      ["numExperts 0", { numExperts: 0 }, "config.numExperts"],
      ["speculativeDraftMaxTokens -1", { speculativeDraftMaxTokens: -1 }, "config.speculativeDraftMaxTokens"],
      ["speculativeDraftMinContinueProbability 1.1", { speculativeDraftMinContinueProbability: 1.1 }, "config.speculativeDraftMinContinueProbability"],
      ["cache quantization bad enum", { llamaKCacheQuantizationType: "q3_k" }, "config.llamaKCacheQuantizationType"],
      ["cache quantization true", { llamaVCacheQuantizationType: true }, "config.llamaVCacheQuantizationType"],
      ["mlx bits 5", { mlxKvCacheQuantization: { enabled: true, bits: 5, groupSize: 64, quantizedStart: 0 } }, "config.mlxKvCacheQuantization.bits", "must be 8, 6, 4, 3 or 2, got 5"],
      ["mlx groupSize 16", { mlxKvCacheQuantization: { enabled: true, bits: 4, groupSize: 16, quantizedStart: 0 } }, "config.mlxKvCacheQuantization.groupSize"],
      ["mlx quantizedStart -1", { mlxKvCacheQuantization: { enabled: true, bits: 4, groupSize: 64, quantizedStart: -1 } }, "config.mlxKvCacheQuantization.quantizedStart"],
      ["mlx missing field", { mlxKvCacheQuantization: { enabled: true, bits: 4, groupSize: 64 } }, "config.mlxKvCacheQuantization.quantizedStart", "is required"],
      ["mlx true", { mlxKvCacheQuantization: true }, "config.mlxKvCacheQuantization"],
      ["speculative Simple and Mtp both true", {
        speculativeDraftMtp: true,
        speculativeDraftSimple: true,
        speculativeDraftModel: "m"
      }, "config.speculativeDraftSimple", "cannot be true together with speculativeDraftMtp"],
      ["speculativeDraftModel without Simple", { speculativeDraftModel: "m" }, "config.speculativeDraftModel", "requires speculativeDraftSimple: true"],
      ["speculativeDraftModel with Simple false", {
        speculativeDraftSimple: false,
        speculativeDraftModel: "m"
      }, "config.speculativeDraftModel"],
      ["speculativeDraftSimple without a model", { speculativeDraftSimple: true }, "config.speculativeDraftModel"],
      ["speculativeDraftMinTokens > max", { speculativeDraftMinTokens: 5, speculativeDraftMaxTokens: 2 }, "config.speculativeDraftMinTokens", "must be <= speculativeDraftMaxTokens (2), got 5"]
    ]

    for (const [name, input, field, reason] of invalid) {
      it.effect(`rejects ${name} at ${field}`, () =>
        Effect.gen(function*() {
          const error = yield* Effect.flip(validateLlmLoadConfig(input))
          assert.strictEqual(error._tag, "InvalidArgumentError")
          assert.strictEqual(error.field, field)
          if (reason !== undefined) assert.strictEqual(error.reason, reason)
          assert.isTrue(error.reason.length > 0)
        }))
    }
  })

  describe("validateEmbeddingLoadConfig", () => {
    it.effect("accepts a config with every field set", () =>
      Effect.gen(function*() {
        assert.deepStrictEqual(yield* validateEmbeddingLoadConfig(fullEmbedding), fullEmbedding)
        assert.deepStrictEqual(yield* validateEmbeddingLoadConfig({}), {})
      }))

    const invalid: ReadonlyArray<readonly [string, unknown, string, string?]> = [
      ["contextLength 0", { contextLength: 0 }, "config.contextLength", "must be an integer >= 1, got 0"],
      ["contextLength NaN", { contextLength: NaN }, "config.contextLength"],
      ["gpu.ratio (not taken for embeddings)", { gpu: { ratio: 0.5 } }, "config.gpu.ratio", "is not supported for embedding models"],
      ["gpu.numCpuExpertLayersRatio", { gpu: { numCpuExpertLayersRatio: 0.5 } }, "config.gpu.numCpuExpertLayersRatio"],
      ["gpu.mainGpu -1", { gpu: { mainGpu: -1 } }, "config.gpu.mainGpu"],
      ["ropeFrequencyBase Infinity", { ropeFrequencyBase: Infinity }, "config.ropeFrequencyBase"],
      ["LLM-only field", { flashAttention: true }, "config.flashAttention", "is not a known load-config field"],
      ["unknown key", { foo: 1 }, "config.foo"],
      ["tryMmap wrong type", { tryMmap: "no" }, "config.tryMmap"]
    ]

    for (const [name, input, field, reason] of invalid) {
      it.effect(`rejects ${name} at ${field}`, () =>
        Effect.gen(function*() {
          const error = yield* Effect.flip(validateEmbeddingLoadConfig(input))
          assert.strictEqual(error._tag, "InvalidArgumentError")
          assert.strictEqual(error.field, field)
          if (reason !== undefined) assert.strictEqual(error.reason, reason)
        }))
    }
  })
})
