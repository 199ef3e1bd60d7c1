/**
 * A minimal stand-in for the prediction config (src/PredictionConfig.ts, built in parallel): the
 * same names (`PredictionConfig`, `validatePredictionConfig`, `predictionConfigToKVFields`), a
 * subset of the fields, mapped in the official client's order. Replaced by the real module once
 * it lands.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { InvalidArgumentError } from "../../LMStudioError.js"
import type { KVConfigField } from "../protocol/kvConfig.js"

const exact = <S extends Schema.Schema.All>(self: S) => Schema.optionalWith(self, { exact: true })
const Probability = Schema.Finite.pipe(Schema.between(0, 1))

export const PredictionConfig = Schema.Struct({
  temperature: exact(Schema.Finite.pipe(Schema.greaterThanOrEqualTo(0))),
  contextOverflowPolicy: exact(Schema.Literal("stopAtLimit", "truncateMiddle", "rollingWindow")),
  maxTokens: exact(Schema.Union(Schema.Int.pipe(Schema.greaterThanOrEqualTo(-1)), Schema.Literal(false))),
  stopStrings: exact(Schema.Array(Schema.String)),
  toolCallStopStrings: exact(Schema.Array(Schema.String)),
  topKSampling: exact(Schema.Int),
  repeatPenalty: exact(Schema.Union(Schema.Finite, Schema.Literal(false))),
  minPSampling: exact(Schema.Union(Probability, Schema.Literal(false))),
  topPSampling: exact(Schema.Union(Probability, Schema.Literal(false))),
  cpuThreads: exact(Schema.Int.pipe(Schema.greaterThanOrEqualTo(1))),
  reasoningParsing: exact(Schema.Struct({ enabled: Schema.Boolean, startString: Schema.String, endString: Schema.String }))
})
export type PredictionConfig = typeof PredictionConfig.Type

const decode = Schema.decodeUnknownEither(PredictionConfig, { onExcessProperty: "error" })

export const validatePredictionConfig = (input: unknown): Effect.Effect<PredictionConfig, InvalidArgumentError> => {
  const decoded = decode(input)
  if (Either.isRight(decoded)) return Effect.succeed(decoded.right)
  const issue = ParseResult.ArrayFormatter.formatErrorSync(decoded.left)[0]
  const path = issue?.path.map(String).join(".") ?? ""
  return Effect.fail(
    new InvalidArgumentError({ field: path === "" ? "config" : `config.${path}`, reason: issue?.message ?? "is invalid" })
  )
}

const checkbox = (value: number | false, whenOff: number) =>
  value === false ? { checked: false, value: whenOff } : { checked: true, value }

export const predictionConfigToKVFields = (config: PredictionConfig): ReadonlyArray<KVConfigField> => {
  const fields: Array<KVConfigField> = []
  const add = (key: string, value: unknown) => {
    if (value !== undefined) fields.push({ key: `llm.prediction.${key}`, value })
  }
  add("temperature", config.temperature)
  add("contextOverflowPolicy", config.contextOverflowPolicy)
  add("maxPredictedTokens", config.maxTokens === undefined ? undefined : checkbox(config.maxTokens, 1))
  add("stopStrings", config.stopStrings)
  add("toolCallStopStrings", config.toolCallStopStrings)
  add("topKSampling", config.topKSampling)
  add("repeatPenalty", config.repeatPenalty === undefined ? undefined : checkbox(config.repeatPenalty, 1.1))
  add("minPSampling", config.minPSampling === undefined ? undefined : checkbox(config.minPSampling, 0.05))
  add("topPSampling", config.topPSampling === undefined ? undefined : checkbox(config.topPSampling, 0.95))
  add("llama.cpuThreads", config.cpuThreads)
  add("reasoning.parsing", config.reasoningParsing)
  return fields
}
