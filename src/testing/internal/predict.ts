/**
 * The prediction channels of `/llm`: `predict` (a chat) and `completeRawText` (a raw prompt).
 * Failures before the first packet are `channelError`s:
 * an unknown model or instance, an unknown preset, an image for a model without vision, and a
 * malformed creation parameter (where LM Studio would only warn and leave the caller hanging).
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { type KVConfigStack, flattenStack } from "../../internal/protocol/kvConfig.js"
import type { ModelSpecifier } from "../../internal/protocol/modelManagement.js"
import type { ChannelContext, ChannelEndpoint } from "./context.js"
import { failure, noModelMatchingQuery, type ServerFailure } from "./errors.js"
import {
  isReasoningModel,
  naturalReply,
  planTokens,
  reasoningSection,
  renderChat,
  type ReplyInput,
  replyRandom
} from "./generation.js"
import { displayQuery, type InstanceRecord } from "./models.js"
import { type PredictionSettings, readSettings } from "./predictConfig.js"
import { type Plan, planWithStopStrings, type Step } from "./predictPlan.js"
import {
  type ChatMessage,
  CompleteRawTextParameter,
  messageText,
  PredictParameter
} from "./predictProtocol.js"
import { type Limit, streamPrediction } from "./predictStream.js"
import { findBySpecifier, instancesOf, type SimulatedPreset, touchInstance } from "./state.js"
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

/** An image sent to a model without vision. Wording [inferred]. */
const visionNotSupported = (identifier: string): ServerFailure =>
  failure(`Model "${identifier}" does not support images`, {
    suggestion: "Load a vision-capable model (one whose info says vision: true) to send images."
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

/**
 * The hook for vision checks: a chat carrying an image needs a model with `vision`. Returns the
 * failure, if any.
 */
export const checkImages = (
  record: InstanceRecord,
  messages: ReadonlyArray<ChatMessage> | undefined
): ServerFailure | undefined => {
  const hasImage = messages?.some((m) => m.content.some((part) => part.type === "file" && part.fileType === "image"))
  const vision = record.model.type === "llm" && record.model.vision
  return hasImage === true && !vision ? visionNotSupported(record.identifier) : undefined
}

const fragments = (text: string, tags: PredictionSettings["reasoningTags"]): Array<Step> =>
  planTokens(text, tags).map((token) => ({ _tag: "Fragment", token }))

/** Decides everything the prediction will stream. */
const planFor = (record: InstanceRecord, request: PredictionRequest, prompt: string, settings: PredictionSettings) => {
  const raw = request.messages === undefined || settings.passThroughTemplate
  const messages = raw ? undefined : request.messages
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
  return planWithStopStrings(steps, settings.stopStrings)
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
    const record = findBySpecifier(sim, "llm", request.specifier)
    if (record === undefined) {
      const query = request.specifier.type === "query" ? displayQuery(request.specifier.query) : {}
      return yield* Effect.fail(noModelMatchingQuery(query, instancesOf(sim, "llm").map((i) => i.identifier)))
    }
    let layers = request.stack.layers
    if (request.preset !== undefined) {
      const preset = findPreset(sim.options.presets, request.preset)
      if (preset === undefined) return yield* Effect.fail(presetNotFound(request.preset, sim.options.presets))
      layers = [{ layerName: "preset", config: { fields: preset.fields } }, ...layers]
    }
    const predictionConfig = flattenStack({ layers })
    const settings = readSettings(predictionConfig.fields)
    if (Either.isLeft(settings)) return yield* Effect.fail(settings.left)
    const refusal = checkImages(record, request.messages)
    if (refusal !== undefined) return yield* Effect.fail(refusal)

    const raw = request.messages === undefined || settings.right.passThroughTemplate
    const prompt = request.messages === undefined
      ? request.rawPrompt
      : raw
      ? request.messages.map(messageText).join("")
      : renderChat(request.messages)
    const promptTokens = countTokens(prompt)
    const plan: Plan = planFor(record, request, prompt, settings.right)
    const faults = yield* Effect.sync(() => {
      const taken = { fault: sim.state.faults.predictionFault, unknownPacketAfter: sim.state.faults.unknownPacketAfter }
      sim.state.faults.predictionFault = null
      sim.state.faults.unknownPacketAfter = null
      return taken
    })
    yield* touchInstance(sim, record)
    yield* streamPrediction(ctx, {
      record,
      plan,
      limit: limitFor(record, settings.right, promptTokens),
      promptTokens,
      predictionConfig,
      logProbs: settings.right.logProbs,
      ...faults
    })
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
