/**
 * Prediction events as `@effect/ai` response parts: fragments → text / reasoning segments (by
 * `reasoningType`), tool-call generation → `tool-params-*` then `tool-call`, the result →
 * `finish` with usage; and a finished result as the parts of `generateText`.
 *
 * @internal
 */
import type * as Response from "@effect/ai/Response"
import type { PredictionEvent, PredictionResult, PredictionStats, StopReason, ToolCallRequest } from "../../Prediction.js"

const FINISH_REASONS: Record<StopReason, Response.FinishReason> = {
  eosFound: "stop",
  stopStringFound: "stop",
  maxPredictedTokensReached: "length",
  contextLengthReached: "length",
  toolCalls: "tool-calls",
  failed: "error",
  modelUnloaded: "error",
  userStopped: "other"
}

const usageOf = (stats: PredictionStats): typeof Response.Usage.Encoded => {
  const inputTokens = stats.promptTokensCount
  const outputTokens = stats.predictedTokensCount
  return {
    inputTokens,
    outputTokens,
    totalTokens: stats.totalTokensCount ??
      (inputTokens !== undefined && outputTokens !== undefined ? inputTokens + outputTokens : undefined),
    reasoningTokens: undefined,
    cachedInputTokens: undefined
  }
}

/**
 * The `finish` part of a result; a result with tool calls finishes with `tool-calls`. Its
 * `metadata.lmstudio` keeps LM Studio's own stop reason and speed.
 */
export const finishPart = (result: PredictionResult<unknown>, sawToolCall: boolean): Response.FinishPartEncoded => {
  const { stopReason, timeToFirstTokenSec, tokensPerSecond } = result.stats
  return {
    type: "finish",
    reason: sawToolCall && stopReason !== "userStopped" ? "tool-calls" : FINISH_REASONS[stopReason],
    usage: usageOf(result.stats),
    metadata: {
      lmstudio: {
        stopReason,
        ...(tokensPerSecond === undefined ? {} : { tokensPerSecond }),
        ...(timeToFirstTokenSec === undefined ? {} : { timeToFirstTokenSec })
      }
    }
  }
}

export const metadataPart = (modelId: string, id: string, timestamp: Date): Response.ResponseMetadataPartEncoded => ({
  type: "response-metadata",
  id,
  modelId,
  timestamp: timestamp.toISOString()
})

const toolCallPart = (id: string, request: ToolCallRequest): Response.ToolCallPartEncoded => ({
  type: "tool-call",
  id,
  name: request.name,
  params: request.arguments ?? {},
  providerExecuted: false
})

type Segment = "text" | "reasoning"

/** A tool call being generated: its part id, whether `tool-params-start` went out, deltas held back until then. */
interface OpenCall {
  readonly id: string
  started: boolean
  readonly pending: Array<string>
}

/**
 * A stateful mapper for one prediction stream. Part ids are `prefix` plus a counter (one
 * IdGenerator call per stream, not per part). A tool call's parts are always `tool-params-start`
 * (sent once its name is known; argument text that comes earlier is held back until then),
 * `tool-params-delta`s, `tool-params-end`, then `tool-call`; a call that fails to parse, or that
 * the stream ends without, still gets its `tool-params-end`.
 */
export const makeStreamMapper = (prefix: string) => {
  let counter = 0
  const nextId = () => `${prefix}-${counter++}`
  let open: { readonly segment: Segment; readonly id: string } | undefined
  const calls = new Map<number, OpenCall>()
  let sawToolCall = false

  const closeSegment = (out: Array<Response.StreamPartEncoded>) => {
    if (open !== undefined) {
      out.push({ type: open.segment === "text" ? "text-end" : "reasoning-end", id: open.id })
      open = undefined
    }
  }
  const delta = (out: Array<Response.StreamPartEncoded>, segment: Segment, text: string) => {
    if (open?.segment !== segment) {
      closeSegment(out)
      open = { segment, id: nextId() }
      out.push({ type: segment === "text" ? "text-start" : "reasoning-start", id: open.id })
    }
    out.push({ type: segment === "text" ? "text-delta" : "reasoning-delta", id: open.id, delta: text })
  }
  const startCall = (out: Array<Response.StreamPartEncoded>, call: OpenCall, name: string) => {
    if (call.started) return
    call.started = true
    out.push({ type: "tool-params-start", id: call.id, name, providerExecuted: false })
    for (const text of call.pending) out.push({ type: "tool-params-delta", id: call.id, delta: text })
    call.pending.length = 0
  }
  /** Ends a call's params (if they started) and forgets it. */
  const endCall = (out: Array<Response.StreamPartEncoded>, callId: number) => {
    const call = calls.get(callId)
    calls.delete(callId)
    if (call?.started === true) out.push({ type: "tool-params-end", id: call.id })
    return call
  }

  return (event: PredictionEvent<unknown>): ReadonlyArray<Response.StreamPartEncoded> => {
    const out: Array<Response.StreamPartEncoded> = []
    switch (event._tag) {
      case "Fragment":
        if (event.isStructural || event.content === "") break
        if (event.reasoningType === "none") delta(out, "text", event.content)
        else if (event.reasoningType === "reasoning") delta(out, "reasoning", event.content)
        // The reasoning section's tags are neither text nor reasoning.
        break
      case "ToolCallStart":
        closeSegment(out)
        calls.set(event.callId, { id: event.toolCallId ?? nextId(), started: false, pending: [] })
        break
      case "ToolCallName": {
        const call = calls.get(event.callId)
        if (call !== undefined) startCall(out, call, event.name)
        break
      }
      case "ToolCallArguments": {
        const call = calls.get(event.callId)
        if (call === undefined) break
        if (call.started) out.push({ type: "tool-params-delta", id: call.id, delta: event.content })
        else call.pending.push(event.content)
        break
      }
      case "ToolCallEnd": {
        const known = calls.get(event.callId)
        if (known !== undefined) startCall(out, known, event.request.name)
        const id = endCall(out, event.callId)?.id ?? nextId()
        sawToolCall = true
        out.push(toolCallPart(id, event.request))
        break
      }
      case "ToolCallFailed":
        // The model wrote a call that does not parse; the prediction goes on without it.
        endCall(out, event.callId)
        break
      case "Result":
        closeSegment(out)
        for (const callId of [...calls.keys()]) endCall(out, callId)
        out.push(finishPart(event.result, sawToolCall))
        break
      case "PromptProcessing":
        break
    }
    return out
  }
}

/**
 * The parts of a finished prediction for `generateText`: reasoning, text (without the reasoning
 * section), then the tool calls (a call without the model's own id gets `<prefix>-call-<n>`),
 * metadata first and `finish` last. Text written after a call comes before it here; `streamText`
 * keeps the order the model wrote.
 */
export const resultParts = (
  result: PredictionResult<unknown>,
  prefix: string,
  metadata: Response.ResponseMetadataPartEncoded
): { readonly parts: Array<Response.PartEncoded>; readonly finish: Response.FinishPartEncoded } => {
  const parts: Array<Response.PartEncoded> = [metadata]
  if (result.reasoningContent !== "") parts.push({ type: "reasoning", text: result.reasoningContent })
  if (result.nonReasoningContent !== "") parts.push({ type: "text", text: result.nonReasoningContent })
  result.toolCalls.forEach((request, index) => parts.push(toolCallPart(request.id ?? `${prefix}-call-${index}`, request)))
  const finish = finishPart(result, result.toolCalls.length > 0)
  parts.push(finish)
  return { parts, finish }
}
