/**
 * The prediction config of `respond` and `complete`: a Schema that validates a user's settings
 * (sampling, limits, stop strings, structured output, tools, speculative decoding, ...) before
 * anything is sent. Only the fields set are sent; a field left out keeps the server's value (the
 * model's defaults, or a preset's).
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import {
  Bool,
  exact,
  expecting,
  FiniteOrFalse,
  intAtLeast,
  intBetween,
  makeValidator,
  NonNegativeInt,
  oneOf,
  PositiveInt,
  Str,
  Strings,
  UnitInterval,
  UnitIntervalOrFalse
} from "./internal/configSchema.js"
import type { InvalidArgumentError } from "./LMStudioError.js"

const JsonObject = Schema.Record({ key: Schema.String, value: Schema.Unknown }).pipe(expecting("an object"))

const literals = <const L extends ReadonlyArray<string>>(...values: L) =>
  Schema.Literal(...values).pipe(expecting(oneOf(values)))

const struct = <F extends Schema.Struct.Fields>(fields: F, text: string) =>
  Schema.Struct(fields).pipe(expecting(text, false))

/**
 * What happens when the conversation outgrows the context window: stop, cut the middle out, or
 * keep a rolling window of the latest tokens.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ContextOverflowPolicy = literals("stopAtLimit", "truncateMiddle", "rollingWindow")
/**
 * @since 0.1.0
 * @category models
 */
export type ContextOverflowPolicy = typeof ContextOverflowPolicy.Type

/**
 * Constrained output as LM Studio takes it: `{ type: "json", jsonSchema }` (or `{ type: "json" }`
 * for any JSON), `{ type: "gbnf", gbnfGrammar }`, or `{ type: "none" }`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const StructuredOutputSetting = struct({
  /** The kind of constraint. */
  type: literals("none", "json", "gbnf"),
  /** The JSON Schema the output must satisfy (with `type: "json"`). */
  jsonSchema: exact(JsonObject.pipe(expecting("a JSON Schema object"))),
  /** The GBNF grammar the output must follow (with `type: "gbnf"`). */
  gbnfGrammar: exact(Str)
}, `an object { type: "none" | "json" | "gbnf", jsonSchema?, gbnfGrammar? }`).annotations({
  identifier: "StructuredOutputSetting"
})
/**
 * @since 0.1.0
 * @category models
 */
export type StructuredOutputSetting = typeof StructuredOutputSetting.Type

/**
 * A tool the model may call, in the OpenAI-style function form.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ToolDefinition = struct({
  type: literals("function"),
  function: struct({
    /** The name the model calls the tool by. */
    name: Str,
    /** What the tool does, for the model. */
    description: exact(Str),
    /** The tool's parameters as a JSON Schema object. */
    parameters: exact(struct({
      type: literals("object"),
      properties: JsonObject,
      required: exact(Strings),
      additionalProperties: exact(Bool),
      $defs: exact(JsonObject)
    }, `an object { type: "object", properties, required? }`))
  }, "an object { name, description?, parameters? }")
}, `an object { type: "function", function: { name, ... } }`).annotations({ identifier: "ToolDefinition" })
/**
 * @since 0.1.0
 * @category models
 */
export type ToolDefinition = typeof ToolDefinition.Type

/**
 * Tools offered to the model as they are sent: `{ type: "none" }` or
 * `{ type: "toolArray", tools }`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const RawTools = Schema.Union(
  struct({ type: Schema.Literal("none") }, `{ type: "none" }`),
  struct({
    type: Schema.Literal("toolArray"),
    tools: exact(Schema.Array(ToolDefinition).pipe(expecting("an array of tool definitions", false))),
    force: exact(Bool)
  }, `{ type: "toolArray", tools }`)
).pipe(expecting(`{ type: "none" } or { type: "toolArray", tools }`, false))
/**
 * @since 0.1.0
 * @category models
 */
export type RawTools = typeof RawTools.Type

/**
 * Whether the model may, must or must not call a tool.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ToolChoice = struct({
  type: literals("generic"),
  mode: literals("none", "auto", "required")
}, `an object { type: "generic", mode: "none" | "auto" | "required" }`).annotations({ identifier: "ToolChoice" })
/**
 * @since 0.1.0
 * @category models
 */
export type ToolChoice = typeof ToolChoice.Type

/**
 * How tool names are rewritten before the model sees them.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ToolNaming = literals("passThrough", "removeSpecial", "snakeCase", "camelCase")
/**
 * @since 0.1.0
 * @category models
 */
export type ToolNaming = typeof ToolNaming.Type

/**
 * A prompt template for one prediction: `{ type: "jinja", jinjaPromptTemplate: { template } }` or
 * `{ type: "manual", manualPromptTemplate: { beforeSystem, ... } }`, with extra stop strings.
 *
 * @since 0.1.0
 * @category schemas
 */
export const PredictionPromptTemplate = struct({
  /** Which of the two template forms is used. */
  type: literals("manual", "jinja"),
  /** Text put around each role's messages (with `type: "manual"`). */
  manualPromptTemplate: exact(struct({
    beforeSystem: Str,
    afterSystem: Str,
    beforeUser: Str,
    afterUser: Str,
    beforeAssistant: Str,
    afterAssistant: Str
  }, "an object { beforeSystem, afterSystem, beforeUser, afterUser, beforeAssistant, afterAssistant }")),
  /** The Jinja source (with `type: "jinja"`). */
  jinjaPromptTemplate: exact(struct({ template: Str }, "an object { template: string }")),
  /** Stop strings that belong to the template. */
  stopStrings: Strings
}, `an object { type: "manual" | "jinja", ..., stopStrings }`).pipe(
  Schema.filter((t) =>
    t.type === "jinja" && t.jinjaPromptTemplate === undefined
      ? { path: ["jinjaPromptTemplate"], message: `is required when type is "jinja"` }
      : t.type === "manual" && t.manualPromptTemplate === undefined
      ? { path: ["manualPromptTemplate"], message: `is required when type is "manual"` }
      : undefined, { identifier: "PredictionPromptTemplate" })
)
/**
 * @since 0.1.0
 * @category models
 */
export type PredictionPromptTemplate = typeof PredictionPromptTemplate.Type

/**
 * How reasoning ("thinking") is told apart from the answer.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ReasoningParsing = struct({
  /** Whether reasoning is parsed out at all. */
  enabled: Bool,
  /** The tag that opens reasoning, e.g. `<think>`. */
  startString: Str,
  /** The tag that closes reasoning, e.g. `</think>`. */
  endString: Str
}, "an object { enabled, startString, endString }").annotations({ identifier: "ReasoningParsing" })
/**
 * @since 0.1.0
 * @category models
 */
export type ReasoningParsing = typeof ReasoningParsing.Type

/**
 * KV fields passed through as they are, with full keys (e.g. `llm.prediction.seed`). The typed
 * fields of the config win over these.
 *
 * @since 0.1.0
 * @category schemas
 */
export const RawKVConfig = struct({
  fields: Schema.Array(struct({
    key: Schema.String.pipe(Schema.minLength(1), expecting("a non-empty string")),
    value: exact(Schema.Unknown)
  }, "an object { key, value }")).pipe(expecting("an array of { key, value }", false))
}, "an object { fields: [{ key, value }] }").annotations({ identifier: "RawKVConfig" })
/**
 * @since 0.1.0
 * @category models
 */
export type RawKVConfig = typeof RawKVConfig.Type

const MaxTokens = Schema.Union(intAtLeast(1), Schema.Literal(-1, false)).pipe(
  expecting("an integer >= 1, or -1 or false for no limit")
)

const predictionConfigFields = {
  /** Randomness of sampling (>= 0); 0 always picks the most likely token. */
  temperature: exact(Schema.Finite.pipe(Schema.greaterThanOrEqualTo(0), expecting("a number >= 0"))),
  /** What to do when the context window is full. */
  contextOverflowPolicy: exact(ContextOverflowPolicy),
  /** Most tokens to generate; `-1` or `false` means no limit. */
  maxTokens: exact(MaxTokens),
  /** Most tokens to spend reasoning; `false` means no budget. */
  reasoningBudget: exact(Schema.Union(NonNegativeInt, Schema.Literal(false)).pipe(
    expecting("an integer >= 0 or false")
  )),
  /** Generation stops before any of these strings. */
  stopStrings: exact(Strings),
  /** Tool-call generation stops at any of these strings. */
  toolCallStopStrings: exact(Strings),
  /** Constrained output in the form LM Studio takes. */
  structured: exact(StructuredOutputSetting),
  /** Tools offered to the model, as sent. */
  rawTools: exact(RawTools),
  /** Whether the model may, must or must not call a tool. */
  toolChoice: exact(ToolChoice),
  /** How tool names are rewritten for the model. */
  toolNaming: exact(ToolNaming),
  /** Sample only from the k most likely tokens (-1 to 500; -1 or 0 switches it off). */
  topKSampling: exact(intBetween(-1, 500)),
  /** Penalty for repeating tokens; `false` switches it off. */
  repeatPenalty: exact(FiniteOrFalse),
  /** Penalty for tokens already present; `false` switches it off. */
  presencePenalty: exact(FiniteOrFalse),
  /** Minimum probability (0 to 1) relative to the top token; `false` switches it off. */
  minPSampling: exact(UnitIntervalOrFalse),
  /** Nucleus sampling mass (0 to 1); `false` switches it off. */
  topPSampling: exact(UnitIntervalOrFalse),
  /** How many top log-probabilities to return per token (0 to 100); `false` for none. */
  logProbs: exact(Schema.Union(intBetween(0, 100), Schema.Literal(false)).pipe(
    expecting("an integer between 0 and 100, or false")
  )),
  /** CPU threads used for generation. */
  cpuThreads: exact(PositiveInt),
  /** Let a reasoning model think before answering. */
  enableThinking: exact(Bool),
  /** A prompt template for this prediction only. */
  promptTemplate: exact(PredictionPromptTemplate),
  /** A model key to use for speculative decoding. */
  draftModel: exact(Str),
  /** Draft tokens generated per step of speculative decoding. */
  speculativeDecodingNumDraftTokensExact: exact(PositiveInt),
  /** Shortest draft worth verifying. */
  speculativeDecodingMinDraftLengthToConsider: exact(NonNegativeInt),
  /** Minimum probability (0 to 1) to keep drafting. */
  speculativeDecodingMinContinueDraftingProbability: exact(UnitInterval),
  /** How reasoning is told apart from the answer. */
  reasoningParsing: exact(ReasoningParsing),
  /** Largest image side, in pixels, sent to a vision model; `false` for no limit. */
  userMaxImageDimensionPixels: exact(Schema.Union(PositiveInt, Schema.Literal(false)).pipe(
    expecting("an integer >= 1 or false")
  )),
  /** Ignore the model's preferred image size. */
  ignoreModelPreferredMaxImageDimension: exact(Bool),
  /** KV fields passed through as they are; the typed fields above win over them. */
  raw: exact(RawKVConfig)
}

/**
 * Settings of one prediction (`LLMPredictionConfig` in the official clients). Every field is
 * optional; a field left out keeps the server's value. Numbers must be finite.
 *
 * @example
 * ```ts
 * const config: PredictionConfig = { temperature: 0, maxTokens: 200, stopStrings: ["\n\n"] }
 * ```
 *
 * @since 0.1.0
 * @category schemas
 */
export const PredictionConfig = Schema.Struct(predictionConfigFields).pipe(
  expecting("an object", false),
  (self) => self.annotations({ identifier: "PredictionConfig" })
)
/**
 * @since 0.1.0
 * @category models
 */
export type PredictionConfig = typeof PredictionConfig.Type

/** What a user coming from another API may have meant. */
const hints: Readonly<Record<string, string>> = {
  maxPredictedTokens: "maxTokens",
  max_tokens: "maxTokens",
  maxTokensToPredict: "maxTokens",
  topK: "topKSampling",
  top_k: "topKSampling",
  topP: "topPSampling",
  top_p: "topPSampling",
  minP: "minPSampling",
  min_p: "minPSampling",
  stop: "stopStrings",
  tools: "rawTools",
  repetitionPenalty: "repeatPenalty",
  repeat_penalty: "repeatPenalty",
  responseFormat: "structured",
  response_format: "structured"
}

/**
 * Checks a prediction config before anything is sent. Unknown keys are rejected; a key whose
 * value is `undefined` counts as absent. Fails with an `InvalidArgumentError` naming the first bad
 * field, e.g. `{ field: "config.temperature", reason: "must be a number >= 0, got -1" }`.
 *
 * @since 0.1.0
 * @category validation
 */
export const validatePredictionConfig: (u: unknown) => Effect.Effect<PredictionConfig, InvalidArgumentError> =
  makeValidator(PredictionConfig, {
    root: "config",
    unknownKey: (path) => {
      if (path.length > 1) return "is not a known field"
      const hint = hints[String(path[0])]
      return hint !== undefined
        ? `is not a known prediction-config field (did you mean ${hint}?)`
        : "is not a known prediction-config field"
    }
  })
