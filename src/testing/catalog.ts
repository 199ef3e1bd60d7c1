/**
 * The models the simulator reports as downloaded unless told otherwise: the keys used throughout
 * LM Studio's guides, with plausible metadata.
 *
 * @since 0.1.0
 */
import type { EmbeddingModelInfo, LlmInfo } from "../ModelInfo.js"

/**
 * A catalog entry: the model info LM Studio reports, plus, for embedding models, the number of
 * dimensions the simulated embeddings have (768 when absent). The dimension is not sent on the
 * wire.
 *
 * @since 0.1.0
 * @category catalog
 */
export type CatalogModel = LlmInfo | (EmbeddingModelInfo & { readonly embeddingDimension?: number | undefined })

/**
 * The default catalog: four LLMs (`llama-3.2-1b-instruct`, `qwen2.5-7b-instruct`, the vision
 * model `qwen2-vl-2b-instruct`, the reasoning model `deepseek-r1-distill-qwen-1.5b`, whose replies
 * open with a `<think>` section) and the embedding model `text-embedding-nomic-embed-text-v1.5`
 * (768 dimensions).
 *
 * Paths are chosen so that the path-like keys used by LM Studio's own test suites resolve, e.g.
 * `hugging-quants/llama-3.2-1b-instruct` and `nomic-ai/nomic-embed-text-v1.5`.
 *
 * @since 0.1.0
 * @category catalog
 */
export const defaultCatalog: ReadonlyArray<CatalogModel> = [
  {
    type: "llm",
    modelKey: "llama-3.2-1b-instruct",
    format: "gguf",
    displayName: "Llama 3.2 1B Instruct",
    publisher: "hugging-quants",
    path: "hugging-quants/Llama-3.2-1B-Instruct-Q8_0-GGUF/llama-3.2-1b-instruct-q8_0.gguf",
    sizeBytes: 1321083200,
    indexedModelIdentifier: "hugging-quants/Llama-3.2-1B-Instruct-Q8_0-GGUF/llama-3.2-1b-instruct-q8_0.gguf",
    deviceIdentifier: null,
    paramsString: "1B",
    architecture: "llama",
    quantization: { name: "Q8_0", bits: 8 },
    vision: false,
    trainedForToolUse: true,
    maxContextLength: 131072
  },
  {
    type: "llm",
    modelKey: "qwen2.5-7b-instruct",
    format: "gguf",
    displayName: "Qwen2.5 7B Instruct",
    publisher: "lmstudio-community",
    path: "lmstudio-community/Qwen2.5-7B-Instruct-GGUF/Qwen2.5-7B-Instruct-Q4_K_M.gguf",
    sizeBytes: 4683073952,
    indexedModelIdentifier: "lmstudio-community/Qwen2.5-7B-Instruct-GGUF/Qwen2.5-7B-Instruct-Q4_K_M.gguf",
    deviceIdentifier: null,
    paramsString: "7B",
    architecture: "qwen2",
    quantization: { name: "Q4_K_M", bits: 4 },
    vision: false,
    trainedForToolUse: true,
    maxContextLength: 32768
  },
  {
    type: "llm",
    modelKey: "qwen2-vl-2b-instruct",
    format: "gguf",
    displayName: "Qwen2 VL 2B Instruct",
    publisher: "lmstudio-community",
    path: "lmstudio-community/Qwen2-VL-2B-Instruct-GGUF/Qwen2-VL-2B-Instruct-Q4_K_M.gguf",
    sizeBytes: 986047872,
    indexedModelIdentifier: "lmstudio-community/Qwen2-VL-2B-Instruct-GGUF/Qwen2-VL-2B-Instruct-Q4_K_M.gguf",
    deviceIdentifier: null,
    paramsString: "2B",
    architecture: "qwen2vl",
    quantization: { name: "Q4_K_M", bits: 4 },
    vision: true,
    trainedForToolUse: false,
    maxContextLength: 32768
  },
  {
    type: "llm",
    modelKey: "deepseek-r1-distill-qwen-1.5b",
    format: "gguf",
    displayName: "DeepSeek R1 Distill Qwen 1.5B",
    publisher: "lmstudio-community",
    path: "lmstudio-community/DeepSeek-R1-Distill-Qwen-1.5B-GGUF/DeepSeek-R1-Distill-Qwen-1.5B-Q4_K_M.gguf",
    sizeBytes: 1117320736,
    indexedModelIdentifier: "lmstudio-community/DeepSeek-R1-Distill-Qwen-1.5B-GGUF/DeepSeek-R1-Distill-Qwen-1.5B-Q4_K_M.gguf",
    deviceIdentifier: null,
    paramsString: "1.5B",
    architecture: "qwen2",
    quantization: { name: "Q4_K_M", bits: 4 },
    vision: false,
    trainedForToolUse: false,
    maxContextLength: 131072
  },
  {
    type: "embedding",
    modelKey: "text-embedding-nomic-embed-text-v1.5",
    format: "gguf",
    displayName: "Nomic Embed Text v1.5",
    publisher: "nomic-ai",
    path: "nomic-ai/nomic-embed-text-v1.5-GGUF/nomic-embed-text-v1.5.Q4_K_M.gguf",
    sizeBytes: 84106624,
    indexedModelIdentifier: "nomic-ai/nomic-embed-text-v1.5-GGUF/nomic-embed-text-v1.5.Q4_K_M.gguf",
    deviceIdentifier: null,
    paramsString: "137M",
    architecture: "nomic-bert",
    quantization: { name: "Q4_K_M", bits: 4 },
    maxContextLength: 2048,
    embeddingDimension: 768
  }
]
