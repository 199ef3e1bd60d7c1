/**
 * Streams one planned prediction: prompt-processing progress 0
 * then 1, one token per paced step, the limits, the scripted faults, and the final `success`.
 * A `cancel` (even before the first packet) ends it with `userStopped`; an instance unloaded
 * meanwhile ends it with `modelUnloaded`.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import type { KVConfig } from "../../internal/protocol/kvConfig.js"
import type { ChannelContext } from "./context.js"
import { instanceInfo, type InstanceRecord } from "./models.js"
import { costsToken, type Plan, type Step } from "./predictPlan.js"
import type { PredictionFault, Sim } from "./state.js"
import { idOf } from "./tokenizer.js"

/** Why a prediction stopped (the wire's `LLMPredictionStopReason`). */
export type StopReason =
  | "userStopped"
  | "modelUnloaded"
  | "failed"
  | "eosFound"
  | "stopStringFound"
  | "toolCalls"
  | "maxPredictedTokensReached"
  | "contextLengthReached"

/** The token limit in force and the reason reported when it is reached. */
export interface Limit {
  readonly tokens: number
  readonly reason: "maxPredictedTokensReached" | "contextLengthReached"
}

/** Everything one streamed prediction needs. */
export interface StreamRequest {
  readonly record: InstanceRecord
  readonly plan: Plan
  readonly limit: Limit
  readonly promptTokens: number
  readonly predictionConfig: KVConfig
  readonly fault: PredictionFault | null
  readonly unknownPacketAfter: number | null
  /** Candidates per token when log-probabilities were requested. */
  readonly logProbs: number | undefined
  /** The draft model's key when speculative decoding is on. */
  readonly draftModel: string | undefined
}

interface Outcome {
  readonly stopReason: StopReason
  readonly stopString?: string | undefined
}

/** Counters shared by the generator and the cancel path (so a cancel reports partial counts). */
interface Counters {
  predicted: number
  fragments: number
  firstTokenAt: number | undefined
}

/** Resolves on the next macrotask, so frames already received (a `cancel`) are read first. */
const nextMacrotask = Effect.async<void>((resume) => {
  const handle = setImmediate(() => resume(Effect.void))
  return Effect.sync(() => clearImmediate(handle))
})

const ALTERNATIVES = [" the", " a", ".", ",", " and", " of", " to", " in", " is", " it"]

/**
 * Sampling metadata of one token (`fragment.tokens`, only when log-probabilities are requested):
 * a stable log-probability and `candidates` alternatives, the chosen token first [inferred: values].
 */
const tokenDetails = (text: string, candidates: number) => {
  const id = idOf(text)
  const logProb = -((id % 500) / 1000)
  const others = ALTERNATIVES.filter((alternative) => alternative !== text).slice(0, Math.max(0, candidates - 1))
  return {
    text,
    id,
    logProb,
    candidates: [
      { text, id, logProb },
      ...others.map((other, i) => ({ text: other, id: idOf(other), logProb: logProb - 1 - i / 2 }))
    ]
  }
}

/**
 * With speculative decoding, two tokens in three come from accepted drafts, and one draft token
 * in four generated is rejected [inferred: ratios].
 */
const isDrafted = (tokenIndex: number): boolean => tokenIndex % 3 !== 0

const draftStats = (draftModel: string | undefined, predicted: number) => {
  if (draftModel === undefined) return {}
  let accepted = 0
  for (let i = 0; i < predicted; i++) if (isDrafted(i)) accepted++
  const rejected = Math.floor(predicted / 4)
  return {
    usedDraftModelKey: draftModel,
    totalDraftTokensCount: accepted + rejected,
    acceptedDraftTokensCount: accepted,
    rejectedDraftTokensCount: rejected,
    ignoredDraftTokensCount: 0
  }
}

const packetOf = (step: Step, request: StreamRequest, tokenIndex: number): unknown => {
  const { logProbs } = request
  switch (step._tag) {
    case "Fragment":
      return {
        type: "fragment",
        fragment: {
          content: step.token.text,
          tokensCount: 1,
          containsDrafted: request.draftModel !== undefined && isDrafted(tokenIndex),
          reasoningType: step.token.reasoningType,
          isStructural: false,
          ...(logProbs !== undefined ? { tokens: [tokenDetails(step.token.text, logProbs)] } : {})
        }
      }
    case "ToolCallStart":
      return { type: "toolCallGenerationStart", toolCallId: step.toolCallId }
    case "ToolCallName":
      return { type: "toolCallGenerationNameReceived", name: step.name }
    case "ToolCallArgument":
      return { type: "toolCallGenerationArgumentFragmentGenerated", content: step.content }
    case "ToolCallEnd":
      return { type: "toolCallGenerationEnd", toolCallRequest: step.request, rawContent: step.rawContent }
  }
}

const progressPacket = (progress: 0 | 1, total: number) => ({
  type: "promptProcessingProgress",
  progress,
  details: {
    cachedTokenCount: 0,
    totalPromptTokenCount: total,
    processedPromptTokenCount: progress === 1 ? total : 0,
    unprocessedPromptTokenCount: progress === 1 ? 0 : total
  }
})

/** The generator: returns how it stopped, unless a fault stalls it or drops the socket. */
const generate = (ctx: ChannelContext, request: StreamRequest, counters: Counters): Effect.Effect<Outcome> =>
  Effect.gen(function*() {
    const { limit, plan } = request
    const tokenMs = ctx.sim.options.tokenMs
    // Even unpaced, each token waits for the next macrotask, so a cancel already on the socket is read.
    const pace = tokenMs > 0 ? Effect.sleep(tokenMs) : nextMacrotask
    let fault = request.fault
    let unknownAfter = request.unknownPacketAfter

    /** Applies the scripted faults due once `counters.fragments` fragments are out (all due ones at the end). */
    const faultsDue = (atEnd: boolean) =>
      Effect.gen(function*() {
        if (unknownAfter !== null && (unknownAfter === counters.fragments || atEnd)) {
          unknownAfter = null
          yield* ctx.send({ type: "simulatorUnknownPacket", note: "a packet type this client does not know" })
        }
        if (fault === null || (fault.afterFragments !== counters.fragments && !atEnd)) return undefined
        const kind = fault.kind
        fault = null
        if (kind === "stall") return yield* Effect.never
        if (kind === "drop") return yield* ctx.terminate
        return { stopReason: "failed" } satisfies Outcome
      })

    yield* nextMacrotask
    yield* ctx.send(progressPacket(0, request.promptTokens))
    yield* pace
    yield* ctx.send(progressPacket(1, request.promptTokens))
    for (const step of plan.steps) {
      if (step._tag === "Fragment") {
        const failed = yield* faultsDue(false)
        if (failed !== undefined) return failed
      }
      if (costsToken(step)) {
        if (counters.predicted >= limit.tokens) return { stopReason: limit.reason }
        yield* pace
      }
      yield* ctx.send(packetOf(step, request, counters.predicted))
      if (costsToken(step)) {
        counters.predicted++
        counters.firstTokenAt ??= yield* Clock.currentTimeMillis
      }
      if (step._tag === "Fragment") counters.fragments++
    }
    const failed = yield* faultsDue(true)
    if (failed !== undefined) return failed
    if (plan.endingAt >= limit.tokens) return { stopReason: limit.reason }
    if (plan.ending.reason === "stopStringFound") {
      return { stopReason: "stopStringFound", stopString: plan.ending.stopString }
    }
    // The EOS token is generated (and counted) but not streamed.
    yield* pace
    counters.predicted++
    return { stopReason: "eosFound" }
  })

/** Completes once `record` is no longer loaded (unloaded, evicted or expired), even mid-stall. */
const unloaded = (sim: Sim, record: InstanceRecord): Effect.Effect<void> =>
  Effect.async<void>((resume) => {
    let done = false
    const check = () => {
      if (!done && !sim.state.instances.includes(record)) {
        done = true
        resume(Effect.void)
      }
    }
    sim.state.loadedListeners.add(check)
    check()
    return Effect.sync(() => {
      sim.state.loadedListeners.delete(check)
    })
  })

const round = (seconds: number): number => Math.round(seconds * 1000) / 1000

/** Streams the prediction and ends it with `success` (the caller closes the channel). */
export const streamPrediction = (ctx: ChannelContext, request: StreamRequest): Effect.Effect<void> =>
  Effect.gen(function*() {
    const startedAt = yield* Clock.currentTimeMillis
    const counters: Counters = { predicted: 0, fragments: 0, firstTokenAt: undefined }
    const outcome = yield* Effect.raceAll([
      generate(ctx, request, counters),
      Deferred.await(ctx.cancelled).pipe(Effect.as<Outcome>({ stopReason: "userStopped" })),
      unloaded(ctx.sim, request.record).pipe(Effect.as<Outcome>({ stopReason: "modelUnloaded" }))
    ])
    const endedAt = yield* Clock.currentTimeMillis
    const { predicted } = counters
    const generationSec = (endedAt - (counters.firstTokenAt ?? endedAt)) / 1000
    const stats = {
      stopReason: outcome.stopReason,
      ...(outcome.stopString !== undefined ? { stopString: outcome.stopString } : {}),
      ...(predicted > 0 ? { tokensPerSecond: round(predicted / Math.max(generationSec, 0.001)) } : {}),
      ...(counters.firstTokenAt !== undefined ? { timeToFirstTokenSec: round((counters.firstTokenAt - startedAt) / 1000) } : {}),
      totalTimeSec: round((endedAt - startedAt) / 1000),
      promptTokensCount: request.promptTokens,
      predictedTokensCount: predicted,
      totalTokensCount: request.promptTokens + predicted,
      ...draftStats(request.draftModel, predicted)
    }
    yield* ctx.send({
      type: "success",
      stats,
      modelInfo: instanceInfo(request.record),
      loadModelConfig: request.record.loadConfig,
      predictionConfig: request.predictionConfig
    })
  })
