/**
 * A scripted LM Studio for prediction tests: a real `ws` server on loopback that serves one loaded
 * LLM (`getModelInfo`, `listLoaded`) and answers `predict` channels the way the protocol's
 * transcripts show (progress 0 and 1 with details, one token per fragment, `success`,
 * `channelClose`; `cancel` → `success` with `userStopped`). Each test picks the behaviour, so
 * fault paths (stalls, failures, unknown packets, vanished instances) are easy to stage.
 */
import * as Effect from "effect/Effect"
import { acceptAll, listen, type Peer } from "./scriptedServer.js"

export const INSTANCE = {
  type: "llm",
  modelKey: "qwen2.5-0.5b-instruct",
  format: "gguf",
  displayName: "Qwen2.5 0.5B Instruct",
  publisher: "lmstudio-community",
  path: "lmstudio-community/Qwen2.5-0.5B-Instruct-GGUF/Qwen2.5-0.5B-Instruct-Q4_K_M.gguf",
  sizeBytes: 397807936,
  indexedModelIdentifier: "lmstudio-community/Qwen2.5-0.5B-Instruct-GGUF/Qwen2.5-0.5B-Instruct-Q4_K_M.gguf",
  deviceIdentifier: null,
  paramsString: "0.5B",
  architecture: "qwen2",
  quantization: { name: "Q4_K_M", bits: 4 },
  vision: false,
  trainedForToolUse: true,
  maxContextLength: 32768,
  identifier: "qwen2.5-0.5b-instruct",
  instanceReference: "b1c2d3e4",
  ttlMs: null,
  lastUsedTime: 1764457200000,
  contextLength: 4096
} as const

/** How the server answers a prediction. */
export type Behaviour =
  /** Progress, then these fragments one per `tokenMs`, then `success` with `stopReason`. */
  | {
    readonly _tag: "Answer"
    readonly fragments: ReadonlyArray<string | Record<string, unknown>>
    readonly stopReason?: string
    /** Extra packets sent right after the progress packets (e.g. unknown types). */
    readonly extra?: ReadonlyArray<unknown>
  }
  /** Progress 0, then nothing (until cancelled). */
  | { readonly _tag: "Stall"; readonly afterFragments?: ReadonlyArray<string> }
  /** `channelError` with this display-data code. */
  | { readonly _tag: "ChannelError"; readonly code: string; readonly title: string }
  /** Ignores `cancel` and answers anyway. */
  | { readonly _tag: "IgnoreCancel"; readonly fragments: ReadonlyArray<string> }

export interface Prediction {
  readonly channelId: number
  readonly creationParameter: Record<string, unknown>
  /** Still generating (no `success` or error sent yet). */
  generating: boolean
  cancelled: boolean
  sentFragments: number
}

const details = (processed: number) => ({
  cachedTokenCount: 0,
  totalPromptTokenCount: 41,
  processedPromptTokenCount: processed,
  unprocessedPromptTokenCount: 41 - processed
})

const fragment = (f: string | Record<string, unknown>) => ({
  type: "fragment",
  fragment: typeof f === "string"
    ? { content: f, tokensCount: 1, containsDrafted: false, reasoningType: "none", isStructural: false }
    : { tokensCount: 1, containsDrafted: false, reasoningType: "none", isStructural: false, ...f }
})

const success = (stopReason: string, predicted: number, creationParameter: Record<string, unknown>) => ({
  type: "success",
  stats: {
    stopReason,
    tokensPerSecond: 100,
    numGpuLayers: 25,
    timeToFirstTokenSec: 0.01,
    totalTimeSec: 0.05,
    promptTokensCount: 41,
    predictedTokensCount: predicted,
    totalTokensCount: 41 + predicted
  },
  modelInfo: INSTANCE,
  loadModelConfig: { fields: [{ key: "llm.load.contextLength", value: 4096 }] },
  predictionConfig: {
    fields: ((creationParameter.predictionConfigStack as { layers: Array<{ config: { fields: Array<unknown> } }> })
      ?.layers ?? []).flatMap((layer) => layer.config.fields)
  }
})

export interface PredictServer {
  readonly url: string
  behaviour: Behaviour
  /** Milliseconds between fragments; 0 sends them all at once. */
  tokenMs: number
  readonly predictions: Array<Prediction>
  /** Every frame clients sent on `/llm` (no auth packets). */
  readonly llmFrames: Array<Record<string, any>>
  /** Whether any prediction is still generating. */
  readonly busy: () => boolean
}

/** `instance` is what `getModelInfo` / `listLoaded` report (default {@link INSTANCE}). */
export const make = (behaviour: Behaviour, tokenMs = 2, instance: Record<string, unknown> = INSTANCE) =>
  Effect.gen(function*() {
    const predictions: Array<Prediction> = []
    const llmFrames: Array<Record<string, any>> = []
    const state: PredictServer = {
      url: "",
      behaviour,
      tokenMs,
      predictions,
      llmFrames,
      busy: () => predictions.some((p) => p.generating)
    }
    const timers = new Map<number, ReturnType<typeof setTimeout>>()

    const end = (peer: Peer, p: Prediction, stopReason: string) => {
      if (!p.generating) return
      p.generating = false
      clearTimeout(timers.get(p.channelId))
      peer.send({
        type: "channelSend",
        channelId: p.channelId,
        message: success(stopReason, p.sentFragments + (stopReason === "eosFound" ? 1 : 0), p.creationParameter)
      })
      peer.send({ type: "channelClose", channelId: p.channelId })
    }

    const start = (peer: Peer, p: Prediction) => {
      const send = (message: unknown) => peer.send({ type: "channelSend", channelId: p.channelId, message })
      const b = state.behaviour
      if (b._tag === "ChannelError") {
        p.generating = false
        return peer.send({
          type: "channelError",
          channelId: p.channelId,
          error: { title: b.title, displayData: { code: b.code, query: {} } }
        })
      }
      const fragments = b._tag === "Stall" ? (b.afterFragments ?? []) : b.fragments
      let i = -1
      const step = () => {
        if (!p.generating) return
        if (i === -1) {
          send({ type: "promptProcessingProgress", progress: 0, details: details(0) })
          send({ type: "promptProcessingProgress", progress: 1, details: details(41) })
          if (b._tag === "Answer") for (const extra of b.extra ?? []) send(extra)
        } else if (i < fragments.length) {
          send(fragment(fragments[i]!))
          p.sentFragments++
        } else {
          if (b._tag === "Stall") return // say nothing more
          return end(peer, p, b._tag === "Answer" ? b.stopReason ?? "eosFound" : "eosFound")
        }
        i++
        // tokenMs 0: everything at once (throughput measurements); otherwise one token per tick.
        if (state.tokenMs === 0) step()
        else timers.set(p.channelId, setTimeout(step, state.tokenMs))
      }
      // Never in the same tick as the create (so a cancel sent right after it is seen first).
      timers.set(p.channelId, setTimeout(step, state.tokenMs))
    }

    const server = yield* listen(acceptAll((peer, raw) => {
      const frame = raw as Record<string, unknown>
      if (peer.path === "/llm") llmFrames.push(frame)
      if (frame.type === "rpcCall") {
        const result = frame.endpoint === "getModelInfo"
          ? instance
          : frame.endpoint === "listLoaded"
          ? [instance]
          : frame.endpoint === "applyPromptTemplate"
          ? { formatted: "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n" }
          : undefined
        return peer.send({ type: "rpcResult", callId: frame.callId, result })
      }
      if (frame.type === "channelCreate" && frame.endpoint === "predict") {
        const p: Prediction = {
          channelId: frame.channelId as number,
          creationParameter: frame.creationParameter as Record<string, unknown>,
          generating: true,
          cancelled: false,
          sentFragments: 0
        }
        predictions.push(p)
        return start(peer, p)
      }
      if (frame.type === "channelSend" && (frame.message as { type?: unknown })?.type === "cancel") {
        const p = predictions.find((x) => x.channelId === frame.channelId)
        if (p === undefined) return
        p.cancelled = true
        if (state.behaviour._tag !== "IgnoreCancel") end(peer, p, "userStopped")
      }
    }))
    yield* Effect.addFinalizer(() => Effect.sync(() => timers.forEach(clearTimeout)))
    Object.assign(state, { url: server.url })
    return state
  })
