/**
 * The prediction channels of `/llm`: `predict` (a chat) and `completeRawText` (a raw prompt).
 * Failures before the first packet are `channelError`s:
 * an unknown model or instance, an unknown preset, a file that was never uploaded, an image for a
 * model without vision, and a malformed creation parameter (where LM Studio would only warn and leave the caller hanging).
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { type KVConfigStack, flattenStack } from "../../internal/protocol/kvConfig.js"
import type { ModelSpecifier } from "../../internal/protocol/modelManagement.js"
import type { ChannelContext, ChannelEndpoint } from "./context.js"
import { failure, pathNotFound, type ServerFailure } from "./errors.js"
import {
  isReasoningModel,
  naturalReply,
  planTokens,
  reasoningSection,
  type ReplyInput,
  replyRandom
} from "./generation.js"
import { refuseFiles } from "./files.js"
import { useInstance } from "./inference.js"
import { type InstanceRecord, resolveModel } from "./models.js"
import { type PredictionSettings, readSettings } from "./predictConfig.js"
import { planWithStopStrings, type Step } from "./predictPlan.js"
import {
  type ChatMessage,
  CompleteRawTextParameter,
  messageText,
  PredictParameter
} from "./predictProtocol.js"
import { type Limit, streamPrediction } from "./predictStream.js"
import { renderPrompt } from "./promptTemplate.js"
import { type SimulatedPreset, touchInstance } from "./state.js"
import { jsonValueFor, wordsOf } from "./structured.js"
import { toolCallSteps, toolsToCall } from "./tools.js"
import { countTokens } from "./tokenizer.js"

/** What both channels reduce to. */
interface PredictionRequest {
  readonly specifier: ModelSpecifier
  readonly stack: KVConfigStack
  readonly preset: string | undefined
  /** The chat, or `undefined` for a raw prompt. */
  readonly messages: ReadonlyArray<ChatMessage> | undefined
  readonly rawPrompt: string
}

const SAMPLE = 10

/** Unknown `fuzzyPresetIdentifier` (the display data the clients expect). Title [inferred]. */
const presetNotFound = (specified: string, presets: ReadonlyArray<SimulatedPreset>): ServerFailure =>
  failure(`Cannot find a preset matching "${specified}"`, {
    displayData: {
      code: "generic.presetNotFound",
      specifiedFuzzyPresetIdentifier: specified,
      availablePresetsSample: presets.slice(0, SAMPLE).map(({ identifier, name }) => ({ identifier, name })),
      totalAvailablePresets: presets.length
    }
  })

/**
 * The preset a fuzzy identifier names: exact identifier, else (case-insensitively) the same
 * identifier or name, else an identifier ending in `/<fuzzy>` [inferred: "limited fuzzy matching"].
 */
const findPreset = (presets: ReadonlyArray<SimulatedPreset>, fuzzy: string): SimulatedPreset | undefined => {
  const lower = fuzzy.toLowerCase()
  return presets.find((p) => p.identifier === fuzzy) ??
    presets.find((p) => p.identifier.toLowerCase() === lower || p.name.toLowerCase() === lower) ??
    presets.find((p) => p.identifier.toLowerCase().endsWith(`/${lower}`))
}

const fragments = (text: string, tags: PredictionSettings["reasoningTags"]): Array<Step> =>
  planTokens(text, tags).map((token) => ({ _tag: "Fragment", token }))

/**
 * The prompt the model sees, and the chat the reply answers (`undefined` for raw completion):
 * a raw prompt as is; a chat with the pass-through template as its concatenated contents;
 * any other chat rendered with the prompt template, tools included, as `applyPromptTemplate` does.
 */
const promptOf = (request: PredictionRequest, settings: PredictionSettings) => {
  if (request.messages === undefined) return { prompt: request.rawPrompt, chat: undefined }
  if (settings.passThroughTemplate) return { prompt: request.messages.map(messageText).join(""), chat: undefined }
  const opts = settings.tools.length > 0 ? { toolDefinitions: settings.tools } : {}
  return { prompt: renderPrompt({ messages: request.messages }, opts), chat: request.messages }
}

/** Decides everything the prediction will stream. */
const planFor = (record: InstanceRecord, request: PredictionRequest, settings: PredictionSettings) => {
  const { chat: messages, prompt } = promptOf(request, settings)
  const input: ReplyInput = { modelKey: record.model.modelKey, prompt, messages, samplingKey: settings.samplingKey }
  const rng = replyRandom(input)
  const lastUser = [...(request.messages ?? [])].reverse().find((m) => m.role === "user")
  const words = wordsOf(lastUser !== undefined ? messageText(lastUser) : prompt)
  let steps: Array<Step>
  if (settings.jsonSchema !== undefined) {
    steps = fragments(JSON.stringify(jsonValueFor(settings.jsonSchema, rng, words)), undefined)
  } else {
    const tools = messages === undefined ? [] : toolsToCall(messages, settings.tools, settings.toolChoice)
    if (tools.length > 0) {
      const { preamble, steps: calls } = toolCallSteps(tools, rng, words)
      steps = [...fragments(preamble, undefined), ...calls]
    } else {
      const thinks = isReasoningModel(record.model.modelKey) && settings.enableThinking
      const text = (thinks ? reasoningSection(input) : "") + naturalReply(input, rng)
      steps = fragments(text, settings.reasoningTags)
    }
  }
  return { plan: planWithStopStrings(steps, settings.stopStrings), promptTokens: countTokens(prompt) }
}

/** `maxTokens`, or the room left in the context with `stopAtLimit`, whichever is smaller. */
const limitFor = (record: InstanceRecord, settings: PredictionSettings, promptTokens: number): Limit => {
  const max = settings.maxTokens ?? Infinity
  const room = settings.stopAtContextLimit ? Math.max(0, record.contextLength - promptTokens) : Infinity
  return max <= room ? { tokens: max, reason: "maxPredictedTokensReached" } : { tokens: room, reason: "contextLengthReached" }
}

const predict = (ctx: ChannelContext, request: PredictionRequest): Effect.Effect<void, ServerFailure> =>
  Effect.gen(function*() {
    const { sim } = ctx
    // Not found: `generic.noModelMatchingQuery` at once, for a query or a vanished instance.
    const record = yield* useInstance(ctx, request.specifier)
    let layers = request.stack.layers
    if (request.preset !== undefined) {
      const preset = findPreset(sim.options.presets, request.preset)
      if (preset === undefined) return yield* Effect.fail(presetNotFound(request.preset, sim.options.presets))
      layers = [{ layerName: "preset", config: { fields: preset.fields } }, ...layers]
    }
    const predictionConfig = flattenStack({ layers })
    const settings = readSettings(predictionConfig.fields)
    if (Either.isLeft(settings)) return yield* Effect.fail(settings.left)
    const draft = settings.right.draftModel
    if (draft !== undefined && resolveModel(sim.options.catalog, "llm", draft)._tag !== "Found") {
      return yield* Effect.fail(pathNotFound(draft, sim.options.catalog.filter((m) => m.type === "llm")))
    }
    // Every file part must name an uploaded file; images go only to vision models.
    const refusal = request.messages === undefined ? undefined : refuseFiles(sim, record, { messages: request.messages })
    if (refusal !== undefined) return yield* Effect.fail(refusal)

    const { plan, promptTokens } = planFor(record, request, settings.right)
    const faults = yield* Effect.sync(() => {
      const taken = { fault: sim.state.faults.predictionFault, unknownPacketAfter: sim.state.faults.unknownPacketAfter }
      sim.state.faults.predictionFault = null
      sim.state.faults.unknownPacketAfter = null
      return taken
    })
    const stream = streamPrediction(ctx, {
      record,
      plan,
      limit: limitFor(record, settings.right, promptTokens),
      promptTokens,
      predictionConfig,
      logProbs: settings.right.logProbs,
      draftModel: settings.right.draftModel,
      ...faults
    })
    yield* Effect.acquireUseRelease(
      Effect.sync(() => void sim.state.activePredictions++),
      () => stream,
      () => Effect.sync(() => void sim.state.activePredictions--)
    )
    yield* touchInstance(sim, record)
  })

/** A channel whose malformed creation parameter is a `channelError`, not a warning. */
const predictionChannel = <A, I>(
  schema: Schema.Schema<A, I>,
  toRequest: (parameter: A) => PredictionRequest,
  endpoint: string
): ChannelEndpoint => {
  const decode = Schema.decodeUnknownEither(schema)
  return {
    cancellable: true,
    open: (ctx, raw) =>
      Either.right(Effect.suspend(() => {
        const parameter = decode(raw)
        return Either.isLeft(parameter)
          ? Effect.fail(failure(`Invalid creation parameter for channel "${endpoint}"`, {
            cause: parameter.left.message.slice(0, 1000)
          }))
          : predict(ctx, toRequest(parameter.right))
      }))
  }
}

/** `predict`: a chat history. */
export const predictChannel: ChannelEndpoint = predictionChannel(PredictParameter, (p) => ({
  specifier: p.modelSpecifier,
  stack: p.predictionConfigStack,
  preset: p.fuzzyPresetIdentifier,
  messages: p.history.messages,
  rawPrompt: ""
}), "predict")

/** `completeRawText`: a raw prompt, no chat template. */
export const completeRawTextChannel: ChannelEndpoint = predictionChannel(CompleteRawTextParameter, (p) => ({
  specifier: p.modelSpecifier,
  stack: p.predictionConfigStack,
  preset: p.fuzzyPresetIdentifier,
  messages: undefined,
  rawPrompt: p.rawPrompt
}), "completeRawText")
