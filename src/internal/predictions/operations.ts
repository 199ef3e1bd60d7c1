/**
 * The operations LLM handles get (`respond`, `complete`, their Stream variants and
 * `applyPromptTemplate`): options checked before any I/O, the `predict` creation parameter built
 * as the official 1.5.0 client builds it, spans with the model and token counts (never the
 * prompt).
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import type * as Api from "../../Llm.js"
import { InvalidArgumentError, type LMStudioError, ProtocolError } from "../../LMStudioError.js"
import type { LlmInstanceInfo } from "../../ModelInfo.js"
import { type PredictionConfig, validatePredictionConfig } from "../../PredictionConfig.js"
import type { PredictionEvent, PredictionResult } from "../../Prediction.js"
import type { HandleContext } from "../handleContext.js"
import { refuseImagesWithoutVision } from "../inference/vision.js"
import type { KVConfigStack } from "../protocol/kvConfig.js"
import { predictionConfigToKVFields } from "../protocol/predictionConfigKV.js"
import { annotateAll, streamWithClientSpan, withClientSpan } from "../tracing.js"
import * as Validate from "../validate.js"
import { type ChatHistoryData, promptHistory, toHistory } from "./history.js"
import * as Predict from "./predict.js"
import { prepareStructured } from "./structured.js"

type Mode = "respond" | "complete"

const COMMON_OPTIONS = ["config", "preset", "predictionInactivityTimeout", "structured"]
/** The options each kind of call takes: the Effect variants add callbacks. */
const OPTION_KEYS = {
  effect: new Set([...COMMON_OPTIONS, "onPromptProcessingProgress", "onFirstToken", "onFragment"]),
  stream: new Set(COMMON_OPTIONS)
} as const

/** The pass-through template of completions: the prompt reaches the model as is. */
const NO_FORMATTING_TEMPLATE = "{% for message in messages %}{{ message['content'] }}{% endfor %}"

const completeModeFormatting = {
  layerName: "completeModeFormatting",
  config: {
    fields: [{
      key: "llm.prediction.promptTemplate",
      value: { type: "jinja", jinjaPromptTemplate: { template: NO_FORMATTING_TEMPLATE }, stopStrings: [] }
    }]
  }
} as const

const checkOptionKeys = (options: object, allowed: ReadonlySet<string>): Effect.Effect<void, InvalidArgumentError> => {
  for (const key of Object.keys(options)) {
    if (allowed.has(key) || (options as Record<string, unknown>)[key] === undefined) continue
    return Effect.fail(
      new InvalidArgumentError({
        field: key,
        reason: `is not an option here (expected ${[...allowed].join(", ")}); sampling settings such as ` +
          "temperature or maxTokens go in `config`"
      })
    )
  }
  return Effect.void
}

const checkCallback = (field: string, value: unknown): Effect.Effect<void, InvalidArgumentError> =>
  value === undefined || typeof value === "function"
    ? Effect.void
    : Effect.fail(new InvalidArgumentError({ field, reason: "must be a function returning an Effect" }))

/** Checks a call's input and options and builds its `predict` request. */
const prepare = (
  context: HandleContext<LlmInstanceInfo>,
  mode: Mode,
  streaming: boolean,
  input: unknown,
  rawOptions: unknown
): Effect.Effect<{ request: Predict.PredictRequest; callbacks: Predict.Callbacks | undefined }, InvalidArgumentError> =>
  Effect.gen(function*() {
    if (rawOptions !== undefined && (typeof rawOptions !== "object" || rawOptions === null)) {
      return yield* new InvalidArgumentError({ field: "options", reason: "must be an object" })
    }
    const options = (rawOptions ?? {}) as Api.PredictionOptions & Api.PredictionCallbacks & { structured?: unknown }
    yield* checkOptionKeys(options, OPTION_KEYS[streaming ? "stream" : "effect"])
    const history: ChatHistoryData = mode === "respond" ? yield* toHistory(input) : yield* promptHistory(input)
    yield* refuseImagesWithoutVision(context.info, history)
    const config = options.config === undefined ? {} : yield* validatePredictionConfig(options.config)
    const structured = yield* prepareStructured(options.structured)
    const preset = options.preset === undefined ? undefined : yield* Validate.keyString("preset", options.preset)
    const inactivity = options.predictionInactivityTimeout === undefined
      ? context.defaults.predictionInactivityTimeout
      : yield* Validate.timeout("predictionInactivityTimeout", options.predictionInactivityTimeout)
    yield* checkCallback("onPromptProcessingProgress", options.onPromptProcessingProgress)
    yield* checkCallback("onFirstToken", options.onFirstToken)
    yield* checkCallback("onFragment", options.onFragment)

    if (structured !== undefined && config.structured !== undefined) {
      return yield* new InvalidArgumentError({
        field: "structured",
        reason: "is given both as an option and in config; give it once (the option also decodes the answer)"
      })
    }
    const effective: PredictionConfig = {
      // A completion sends `stopStrings: []` unless given, so a preset's stop strings do not apply.
      ...(mode === "complete" ? { stopStrings: [] } : {}),
      ...config,
      ...(structured === undefined ? {} : { structured: structured.setting })
    }
    const fields = predictionConfigToKVFields(effective)
    const predictionConfigStack: KVConfigStack = {
      layers: mode === "respond"
        ? [{ layerName: "apiOverride", config: { fields } }]
        : [{ layerName: "apiOverride", config: { fields } }, completeModeFormatting]
    }
    const creationParameter: Record<string, unknown> = {
      modelSpecifier: context.specifier,
      history,
      predictionConfigStack,
      ...(preset === undefined ? {} : { fuzzyPresetIdentifier: preset })
    }
    const callbacks: Predict.Callbacks | undefined = options.onFragment === undefined &&
        options.onFirstToken === undefined && options.onPromptProcessingProgress === undefined
      ? undefined
      : {
        onFragment: options.onFragment,
        onFirstToken: options.onFirstToken,
        onPromptProcessingProgress: options.onPromptProcessingProgress
      }
    return { request: { endpoint: "predict", creationParameter, inactivity, structured }, callbacks }
  })

/** Token counts of a finished prediction, as span attributes. */
const annotateStats = (result: PredictionResult) =>
  annotateAll(() => ({
    "lmstudio.stop_reason": result.stats.stopReason,
    "lmstudio.prompt_tokens": result.stats.promptTokensCount,
    "lmstudio.predicted_tokens": result.stats.predictedTokensCount,
    "lmstudio.total_tokens": result.stats.totalTokensCount
  }))

const decodeFormatted = (result: unknown): Effect.Effect<string, ProtocolError> => {
  const formatted = typeof result === "object" && result !== null ? (result as { formatted?: unknown }).formatted : undefined
  return typeof formatted === "string"
    ? Effect.succeed(formatted)
    : Effect.fail(new ProtocolError({ endpoint: "applyPromptTemplate", detail: "expected { formatted: string }" }))
}

/** The members `respond`, `respondStream`, `complete`, `completeStream`, `applyPromptTemplate` of one handle. */
export const llmOperations = (context: HandleContext<LlmInstanceInfo>) => {
  const attributes = { "lmstudio.identifier": context.info.identifier, "lmstudio.model_key": context.info.modelKey }
  const span = (method: string) => withClientSpan(`LMStudio.llm.${method}`, attributes)

  const predict = (mode: Mode) => (input: unknown, options?: unknown): Effect.Effect<PredictionResult, LMStudioError> =>
    prepare(context, mode, false, input, options).pipe(
      Effect.flatMap(({ callbacks, request }) => Predict.run(context, request, callbacks)),
      Effect.tap(annotateStats),
      span(mode)
    )

  const predictStream = (mode: Mode) => (input: unknown, options?: unknown): Stream.Stream<PredictionEvent, LMStudioError> =>
    streamWithClientSpan(
      `LMStudio.llm.${mode}Stream`,
      attributes,
      Predict.events(context, Effect.map(prepare(context, mode, true, input, options), ({ request }) => request), annotateStats)
    )

  const applyPromptTemplate = (chat: unknown, options?: Api.ApplyPromptTemplateOptions): Effect.Effect<string, LMStudioError> =>
    Effect.gen(function*() {
      const history = yield* toHistory(chat)
      const opts: Record<string, boolean> = {}
      for (const key of ["omitBosToken", "omitEosToken"] as const) {
        const value = options?.[key]
        if (value === undefined) continue
        if (typeof value !== "boolean") return yield* new InvalidArgumentError({ field: key, reason: "must be a boolean" })
        opts[key] = value
      }
      const result = yield* context.port.call("applyPromptTemplate", {
        specifier: context.specifier,
        history,
        predictionConfigStack: { layers: [] },
        opts
      }).pipe(Effect.mapError((error): LMStudioError => (error._tag === "ModelNotFoundError" ? context.gone() : error)))
      return yield* decodeFormatted(result)
    }).pipe(span("applyPromptTemplate"))

  return {
    respond: predict("respond"),
    respondStream: predictStream("respond"),
    complete: predict("complete"),
    completeStream: predictStream("complete"),
    applyPromptTemplate
  } as unknown as Pick<Api.LlmHandle, "respond" | "respondStream" | "complete" | "completeStream" | "applyPromptTemplate">
}
