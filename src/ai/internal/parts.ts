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

/** The `finish` part of a result; a result with tool calls finishes with `tool-calls`. */
export const finishPart = (result: PredictionResult<unknown>, sawToolCall: boolean): Response.FinishPartEncoded => ({
  type: "finish",
  reason: sawToolCall && result.stats.stopReason !== "userStopped" ? "tool-calls" : FINISH_REASONS[result.stats.stopReason],
  usage: usageOf(result.stats)
})

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

/**
 * A stateful mapper for one prediction stream. Part ids are `prefix` plus a counter (one
 * IdGenerator call per stream, not per part). A tool call's `tool-params-start` waits until its
 * name is known.
 */
export const makeStreamMapper = (prefix: string) => {
  let counter = 0
  const nextId = () => `${prefix}-${counter++}`
  let open: { readonly segment: Segment; readonly id: string } | undefined
  const toolIds = new Map<number, string>()
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
        toolIds.set(event.callId, event.toolCallId ?? nextId())
        break
      case "ToolCallName": {
        const id = toolIds.get(event.callId)
        if (id !== undefined) out.push({ type: "tool-params-start", id, name: event.name, providerExecuted: false })
        break
      }
      case "ToolCallArguments": {
        const id = toolIds.get(event.callId)
        if (id !== undefined) out.push({ type: "tool-params-delta", id, delta: event.content })
        break
      }
      case "ToolCallEnd": {
        const id = toolIds.get(event.callId) ?? nextId()
        toolIds.delete(event.callId)
        sawToolCall = true
        out.push({ type: "tool-params-end", id }, toolCallPart(id, event.request))
        break
      }
      case "ToolCallFailed":
        // The model wrote a call that does not parse; the prediction goes on without it.
        toolIds.delete(event.callId)
        break
      case "Result":
        closeSegment(out)
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
 * section), the tool calls, metadata and `finish`.
 */
export const resultParts = (
  result: PredictionResult<unknown>,
  toolCalls: ReadonlyArray<{ readonly id: string; readonly request: ToolCallRequest }>,
  metadata: Response.ResponseMetadataPartEncoded
): { readonly parts: Array<Response.PartEncoded>; readonly finish: Response.FinishPartEncoded } => {
  const parts: Array<Response.PartEncoded> = [metadata]
  if (result.reasoningContent !== "") parts.push({ type: "reasoning", text: result.reasoningContent })
  if (result.nonReasoningContent !== "") parts.push({ type: "text", text: result.nonReasoningContent })
  for (const call of toolCalls) parts.push(toolCallPart(call.id, call.request))
  const finish = finishPart(result, toolCalls.length > 0)
  parts.push(finish)
  return { parts, finish }
}
