/**
 * The prediction settings the simulator honours, read from the collapsed config stack.
 * Fields the simulator reads are validated; a bad value fails the prediction
 * with a `channelError` naming the key (LM Studio would only warn, and the caller would hang)
 * [inferred].
 *
 * @internal
 */
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import type { KVConfigField } from "../../internal/protocol/kvConfig.js"
import { failure, type ServerFailure } from "./errors.js"
import { ToolDefinition } from "./wire.js"

const PREFIX = "llm.prediction."

const Checkbox = Schema.Struct({ checked: Schema.Boolean, value: Schema.Number })


const fieldSchemas = {
  maxPredictedTokens: Checkbox,
  stopStrings: Schema.Array(Schema.String),
  contextOverflowPolicy: Schema.Literal("stopAtLimit", "truncateMiddle", "rollingWindow"),
  structured: Schema.Struct({
    type: Schema.Literal("none", "json", "gbnf"),
    jsonSchema: Schema.optional(Schema.Unknown),
    gbnfGrammar: Schema.optional(Schema.String)
  }),
  tools: Schema.Union(
    Schema.Struct({ type: Schema.Literal("none") }),
    Schema.Struct({ type: Schema.Literal("toolArray"), tools: Schema.optional(Schema.Array(ToolDefinition)) })
  ),
  "reasoning.parsing": Schema.Struct({
    enabled: Schema.Boolean,
    startString: Schema.String,
    endString: Schema.String
  }),
  "reasoning.enableThinking": Schema.Boolean,
  "speculativeDecoding.draftModel": Schema.String,
  toolChoice: Schema.Struct({ type: Schema.Literal("generic"), mode: Schema.Literal("none", "auto", "required") }),
  logProbs: Checkbox
} as const

type FieldName = keyof typeof fieldSchemas
type FieldValue<K extends FieldName> = (typeof fieldSchemas)[K]["Type"]

/** The fields that decide the natural reply; their values seed the generator. */
const SAMPLING_KEYS = [
  "temperature",
  "seed",
  "topKSampling",
  "topPSampling",
  "minPSampling",
  "repeatPenalty"
].map((name) => PREFIX + name)

/** The pass-through template clients send for raw completion, whitespace removed. */
const PASS_THROUGH_TEMPLATES = new Set([
  "{%formessageinmessages%}{{message['content']}}{%endfor%}",
  "{%formessageinmessages%}{{message.content}}{%endfor%}"
])

/** What the simulator honours of a prediction config. */
export interface PredictionSettings {
  /** At most this many predicted tokens (`undefined`: no limit). */
  readonly maxTokens: number | undefined
  readonly stopStrings: ReadonlyArray<string>
  readonly stopAtContextLimit: boolean
  /** The JSON Schema to satisfy (`true`: any JSON), or `undefined` for free text. */
  readonly jsonSchema: unknown
  readonly tools: ReadonlyArray<ToolDefinition>
  /** `none`: never call tools; `required`: call the first tool when the user names none. */
  readonly toolChoice: "none" | "auto" | "required"
  /** The draft model key for speculative decoding, or `undefined`. */
  readonly draftModel: string | undefined
  /** How many candidates to report per token, or `undefined` when log-probabilities are off. */
  readonly logProbs: number | undefined
  /** Reasoning delimiters to split on, or `undefined` when parsing is off. */
  readonly reasoningTags: { readonly start: string; readonly end: string } | undefined
  readonly enableThinking: boolean
  /** Whether the prompt template is the raw-completion pass-through. */
  readonly passThroughTemplate: boolean
  /** A stable string of the sampling fields, part of the generator's seed. */
  readonly samplingKey: string
}

const invalid = (key: string, message: string): ServerFailure =>
  failure(`Invalid value for the prediction config field "${key}"`, { cause: message.slice(0, 500) })

/** Reads and validates the settings from the collapsed config fields. */
export const readSettings = (fields: ReadonlyArray<KVConfigField>): Either.Either<PredictionSettings, ServerFailure> => {
  const byKey = new Map(fields.map((field) => [field.key, field.value]))
  const problems: Array<ServerFailure> = []
  const read = <K extends FieldName>(name: K): FieldValue<K> | undefined => {
    const key = PREFIX + name
    if (!byKey.has(key)) return undefined
    const decoded = Schema.decodeUnknownEither(fieldSchemas[name] as Schema.Schema<FieldValue<K>, unknown>)(
      byKey.get(key)
    )
    if (Either.isLeft(decoded)) {
      problems.push(invalid(key, decoded.left.message))
      return undefined
    }
    return decoded.right
  }
  const max = read("maxPredictedTokens")
  const structured = read("structured")
  const tools = read("tools")
  const parsing = read("reasoning.parsing")
  const logProbs = read("logProbs")
  const settings: PredictionSettings = {
    // `-1` (what the REST API calls "no limit") counts as unchecked [inferred].
    maxTokens: max !== undefined && max.checked && max.value >= 0 ? Math.floor(max.value) : undefined,
    stopStrings: (read("stopStrings") ?? []).filter((s) => s.length > 0),
    stopAtContextLimit: read("contextOverflowPolicy") === "stopAtLimit",
    jsonSchema: structured?.type === "json" ? structured.jsonSchema ?? true : undefined,
    tools: tools?.type === "toolArray" ? tools.tools ?? [] : [],
    toolChoice: read("toolChoice")?.mode ?? "auto",
    draftModel: read("speculativeDecoding.draftModel") || undefined,
    logProbs: logProbs !== undefined && logProbs.checked && logProbs.value > 0
      ? Math.min(100, Math.floor(logProbs.value))
      : undefined,
    reasoningTags: parsing === undefined
      ? { start: "<think>", end: "</think>" }
      : parsing.enabled && parsing.startString.length > 0 && parsing.endString.length > 0
      ? { start: parsing.startString, end: parsing.endString }
      : undefined,
    enableThinking: read("reasoning.enableThinking") ?? true,
    passThroughTemplate: isPassThrough(byKey.get(PREFIX + "promptTemplate")),
    samplingKey: JSON.stringify(SAMPLING_KEYS.map((key) => byKey.get(key) ?? null))
  }
  const [problem] = problems
  return problem === undefined ? Either.right(settings) : Either.left(problem)
}

const isPassThrough = (template: unknown): boolean => {
  if (typeof template !== "object" || template === null) return false
  const jinja = (template as { readonly jinjaPromptTemplate?: { readonly template?: unknown } }).jinjaPromptTemplate
  return typeof jinja?.template === "string" && PASS_THROUGH_TEMPLATES.has(jinja.template.replace(/\s+/g, ""))
}
