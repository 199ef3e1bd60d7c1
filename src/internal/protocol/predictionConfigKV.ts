/**
 * `PredictionConfig` ↔ `llm.prediction.*` KV fields. The table is in the order of the official
 * client's conversion (which is the order of its frames): fields @lmstudio/sdk 1.5.0 sends keep
 * 1.5.0's positions, newer ones sit where the current client puts them. `raw` is merged under
 * the typed fields as the official client merges it: raw keys first, a typed field overriding a
 * raw one in place.
 *
 * @internal
 */
import type { Mutable } from "effect/Types"
import { PredictionConfig } from "../../PredictionConfig.js"
import type { KVConfig, KVConfigField } from "./kvConfig.js"
import { checkbox as checkboxCodec, mergeOver, readRows, rowsFor, writeRows } from "./kvFieldTable.js"

const P = "llm.prediction."

const { checkbox, custom, field } = rowsFor(PredictionConfig.fields)
const maxTokensBox = checkboxCodec(PredictionConfig.fields.maxTokens.from, 1)

/** Every typed field of `PredictionConfig` but `raw`, in wire order. */
const predictionRows = [
  field("temperature", `${P}temperature`),
  field("contextOverflowPolicy", `${P}contextOverflowPolicy`),
  // [inferred] -1 means "no limit": the official clients refuse to send it (the KV schema's
  // minimum is 1), so it goes out as the unchecked box, like `false`.
  custom("maxTokens", `${P}maxPredictedTokens`, {
    encode: (value) => maxTokensBox.encode(value === -1 ? false : value),
    decode: maxTokensBox.decode
  }),
  checkbox("reasoningBudget", `${P}reasoning.budgetTokens`, 1024),
  field("stopStrings", `${P}stopStrings`),
  field("toolCallStopStrings", `${P}toolCallStopStrings`),
  field("structured", `${P}structured`),
  field("rawTools", `${P}tools`),
  field("toolChoice", `${P}toolChoice`),
  field("toolNaming", `${P}toolNaming`),
  field("topKSampling", `${P}topKSampling`),
  checkbox("repeatPenalty", `${P}repeatPenalty`, 1.1),
  checkbox("presencePenalty", `${P}llama.presencePenalty`, 0),
  checkbox("minPSampling", `${P}minPSampling`, 0.05),
  checkbox("topPSampling", `${P}topPSampling`, 0.95),
  checkbox("logProbs", `${P}logProbs`, 0),
  field("cpuThreads", `${P}llama.cpuThreads`),
  field("enableThinking", `${P}reasoning.enableThinking`),
  field("promptTemplate", `${P}promptTemplate`),
  field("draftModel", `${P}speculativeDecoding.draftModel`),
  field("speculativeDecodingNumDraftTokensExact", `${P}speculativeDecoding.numDraftTokensExact`),
  field("speculativeDecodingMinDraftLengthToConsider", `${P}speculativeDecoding.minDraftLengthToConsider`),
  field(
    "speculativeDecodingMinContinueDraftingProbability",
    `${P}speculativeDecoding.minContinueDraftingProbability`
  ),
  field("reasoningParsing", `${P}reasoning.parsing`),
  checkbox("userMaxImageDimensionPixels", `${P}vision.userMaxImageDimensionPixels`, 1024),
  field("ignoreModelPreferredMaxImageDimension", `${P}vision.ignoreModelPreferredMaxImageDimension`)
]

/**
 * The KV fields a prediction sends for a config: only the fields set, with full
 * `llm.prediction.*` keys, in the official client's order, `raw` merged under them. `{}` gives
 * `[]`. Validate the config first with `validatePredictionConfig`.
 */
export const predictionConfigToKVFields = (config: PredictionConfig): ReadonlyArray<KVConfigField> => {
  const typed = writeRows(predictionRows, config)
  return config.raw === undefined ? typed : mergeOver(config.raw.fields, typed)
}

/**
 * Reads a prediction config back from KV fields with full keys, e.g. the config a server reports
 * with a prediction's result. Values that do not fit `PredictionConfig` are skipped; keys it has
 * no field for are kept in `raw` (left out when there are none). Never throws; the result passes
 * `validatePredictionConfig`.
 */
export const predictionConfigFromKV = (kv: KVConfig): PredictionConfig => {
  const { config, unknown } = readRows(predictionRows, kv)
  if (unknown.length === 0) return config
  return { ...config, raw: { fields: unknown } } satisfies Mutable<PredictionConfig>
}
