/**
 * A minimal, fast LM Studio protocol server for benchmarks (lmstudio-protocol.md §1.4, §2, §4,
 * §11).
 *
 * Raw `ws`, no Effect, no schema validation: every reply is written synchronously as soon as the
 * request frame arrives (predictions continue on later event-loop turns), so that what the
 * benchmark measures is the client. Run it in its own process; it prints `{"port":N}` on stdout
 * once it listens.
 *
 *   node --import tsx bench/server.ts [--progress N] [--tokens T] [--port P]
 *
 * - Auth: any auth packet is accepted (`{"success":true}`).
 * - `listLoaded`: a small fixed list of LLM instance infos on `/llm` (the §5.3 field superset,
 *   valid for `@lmstudio/sdk@1.5.0`'s zod schema and for lmstudio-effect's Schema), `[]` elsewhere.
 * - `getOrLoad`: always loads: `startLoading` → N × `loadProgress` → `loadSuccess` → `channelClose`;
 *   the instance identifier is the requested string. On `/embedding` the infos are an embedding
 *   model's.
 * - `loadModel`: `resolved` → N × `progress` → `success` → `channelClose`; identifiers are unique
 *   per model key: `key`, `key:2`, `key:3`, … (a counter; never reused).
 * - `unloadModel`: void result (no `result` key), always succeeds. `getModelInfo`, `getLoadConfig`,
 *   `system/version`, `system/listDownloadedModels` answer with fixed values.
 * - `predict`: prompt progress 0 and 1 (with details) and the first fragment in one write, then
 *   the other fragments 64 per write, one write per event-loop turn (zero pacing, but concurrent
 *   predictions interleave and a cancel is seen), then `success` and `channelClose`. T fragments
 *   (`--tokens`, default 2,000), or `~t<T>` in the last message's text. `cancel` ends the reply
 *   with `stopReason: "userStopped"`.
 * - `embedString`: a fixed 768-number vector; `countTokens` / `tokenize`: one token per 4 characters.
 *
 * N (progress packets per load) is the `--progress` flag (default 100), overridden per request by a
 * model key ending in `~p<N>`, e.g. `bench-llm~p10`.
 *
 * Bursts (one load's packets) are corked into a single socket write.
 */
import type { Socket } from "node:net"
import { type WebSocket, WebSocketServer } from "ws"

const argValue = (name: string): string | undefined => {
  const index = process.argv.indexOf(name)
  return index === -1 ? undefined : process.argv[index + 1]
}

const DEFAULT_PROGRESS = Number(argValue("--progress") ?? 100)
const PORT = Number(argValue("--port") ?? 0)

const PATH = "lmstudio-community/Qwen2.5-0.5B-Instruct-GGUF/Qwen2.5-0.5B-Instruct-Q4_K_M.gguf"

/** `LLMInfo` (downloaded model), the §5.3 superset. */
const llmInfo = (modelKey: string): Record<string, unknown> => ({
  type: "llm",
  modelKey,
  format: "gguf",
  displayName: "Qwen2.5 0.5B Instruct",
  publisher: "lmstudio-community",
  path: PATH,
  sizeBytes: 397807936,
  indexedModelIdentifier: PATH,
  deviceIdentifier: null,
  paramsString: "0.5B",
  architecture: "qwen2",
  quantization: { name: "Q4_K_M", bits: 4 },
  vision: false,
  trainedForToolUse: true,
  maxContextLength: 32768
})

let nextReference = 0

const EMBEDDING_PATH = "nomic-ai/nomic-embed-text-v1.5-GGUF/nomic-embed-text-v1.5.Q4_K_M.gguf"

/** `EmbeddingModelInfo` (downloaded model), the §5.3 superset. */
const embeddingInfo = (modelKey: string): Record<string, unknown> => ({
  type: "embedding",
  modelKey,
  format: "gguf",
  displayName: "Nomic Embed Text v1.5",
  publisher: "nomic-ai",
  path: EMBEDDING_PATH,
  sizeBytes: 84106624,
  indexedModelIdentifier: EMBEDDING_PATH,
  deviceIdentifier: null,
  paramsString: "137M",
  architecture: "nomic-bert",
  quantization: { name: "Q4_K_M", bits: 4 },
  maxContextLength: 2048
})

/** The downloaded-model info of the socket's namespace (`/llm` or `/embedding`). */
const infoFor = (namespace: string, modelKey: string) =>
  namespace === "embedding" ? embeddingInfo(modelKey) : llmInfo(modelKey)

/** `LLMInstanceInfo` / `EmbeddingModelInstanceInfo` (loaded instance), the §5.3 superset. */
const llmInstanceInfo = (modelKey: string, identifier: string, namespace = "llm") => ({
  ...infoFor(namespace, modelKey),
  identifier,
  instanceReference: `ref-${(nextReference++).toString(36)}`,
  ttlMs: null,
  lastUsedTime: null,
  contextLength: 4096
})

const LOADED = [
  llmInstanceInfo("qwen2.5-0.5b-instruct", "qwen2.5-0.5b-instruct"),
  llmInstanceInfo("llama-3.2-1b-instruct", "llama-3.2-1b-instruct"),
  llmInstanceInfo("gemma-3-1b-it", "gemma-3-1b-it")
]
const LOADED_JSON = JSON.stringify(LOADED)
const FIRST_LOADED_JSON = JSON.stringify(LOADED[0])
const LOAD_CONFIG_JSON = JSON.stringify({ fields: [{ key: "llm.load.contextLength", value: 4096 }] })
const VERSION_JSON = JSON.stringify({ version: "0.3.99", build: 1 })
const DOWNLOADED_JSON = JSON.stringify([llmInfo("qwen2.5-0.5b-instruct"), llmInfo("llama-3.2-1b-instruct")])

/** Progress packet count for a model key: `…~p<N>` or the global default. */
const progressCount = (key: string): number => {
  const match = /~p(\d+)$/.exec(key)
  return match?.[1] !== undefined ? Number(match[1]) : DEFAULT_PROGRESS
}

/** Per-model-key counters for `loadModel` identifiers (`key`, `key:2`, …). */
const identifierCounters = new Map<string, number>()
const nextIdentifier = (key: string): string => {
  const n = (identifierCounters.get(key) ?? 0) + 1
  identifierCounters.set(key, n)
  return n === 1 ? key : `${key}:${n}`
}

/** Precomputed progress fragments (`"progress":0.01}}`) so that bursts are string concatenation only. */
const progressValues = new Map<number, ReadonlyArray<string>>()
const progressFor = (n: number): ReadonlyArray<string> => {
  let values = progressValues.get(n)
  if (values === undefined) {
    values = Array.from({ length: n }, (_, i) => String((i + 1) / n))
    progressValues.set(n, values)
  }
  return values
}

const rpcResult = (callId: number, resultJson: string | undefined) =>
  resultJson === undefined
    ? `{"type":"rpcResult","callId":${callId}}`
    : `{"type":"rpcResult","callId":${callId},"result":${resultJson}}`

const rpcError = (callId: number, title: string) =>
  `{"type":"rpcError","callId":${callId},"error":${JSON.stringify({ title, rootTitle: title })}}`

const channelSend = (channelId: number, messageJson: string) =>
  `{"type":"channelSend","channelId":${channelId},"message":${messageJson}}`

interface Frame {
  readonly type?: string
  readonly endpoint?: string
  readonly callId?: number
  readonly channelId?: number
  readonly parameter?: {
    readonly identifier?: string
    readonly specifier?: { readonly type?: string }
    readonly inputString?: string
  }
  readonly creationParameter?: {
    readonly identifier?: string
    readonly modelKey?: string
    readonly history?: { readonly messages?: ReadonlyArray<{ readonly content?: ReadonlyArray<{ readonly text?: string }> }> }
  }
  readonly message?: { readonly type?: string }
  readonly authVersion?: number
}

const underlyingSocket = (ws: WebSocket): Socket | undefined => (ws as unknown as { _socket?: Socket })._socket

/** Writes a burst of frames as one socket write. */
const burst = (ws: WebSocket, frames: ReadonlyArray<string>) => {
  const socket = underlyingSocket(ws)
  socket?.cork()
  for (const frame of frames) ws.send(frame)
  socket?.uncork()
}

// -------------------------------------------------------------------------------------------------
// Inference: embeddings, token counts, predictions (§11)
// -------------------------------------------------------------------------------------------------

/** A 768-dimension embedding (nomic-embed-text-v1.5's size), the same for every text. */
const EMBEDDING_JSON = `{"embedding":${JSON.stringify(Array.from({ length: 768 }, (_, i) => Math.round(Math.sin(i + 1) * 1e6) / 1e6))}}`

/** Roughly one token per 4 characters (the bench needs a plausible number, not a tokenizer). */
const tokenCount = (text: string) => Math.ceil(text.length / 4)

/** Tokens of a reply when the prompt does not say (`~t<N>` in the last message's text). */
const DEFAULT_REPLY_TOKENS = Number(argValue("--tokens") ?? 2000)
/** Fragments written per socket write after the first one (the first goes out on its own). */
const FRAGMENTS_PER_WRITE = 64

const replyTokens = (frame: Frame): number => {
  const messages = frame.creationParameter?.history?.messages ?? []
  const text = messages.at(-1)?.content?.map((part) => part.text ?? "").join("") ?? ""
  const match = /~t(\d+)/.exec(text)
  return match?.[1] !== undefined ? Number(match[1]) : DEFAULT_REPLY_TOKENS
}

const fragmentMessage = (content: string) =>
  `{"type":"fragment","fragment":{"content":${JSON.stringify(content)},"tokensCount":1,"containsDrafted":false,"reasoningType":"none","isStructural":false}}`
/** Precomputed fragment packets: a small vocabulary of one-token words. */
const FRAGMENTS = ["Hello", ",", " world", " and", " the", " bench", " says", " hi", ".", "\n"].map(fragmentMessage)

const promptProgress = (progress: number, promptTokens: number) =>
  `{"type":"promptProcessingProgress","progress":${progress},"details":{"cachedTokenCount":0,"totalPromptTokenCount":${promptTokens},` +
  `"processedPromptTokenCount":${progress * promptTokens},"unprocessedPromptTokenCount":${(1 - progress) * promptTokens}}}`

const LOAD_CONFIG_KV = `{"fields":[{"key":"llm.load.contextLength","value":4096}]}`

const successMessage = (stopReason: string, promptTokens: number, predicted: number) =>
  `{"type":"success","stats":{"stopReason":"${stopReason}","tokensPerSecond":1000,"numGpuLayers":0,"timeToFirstTokenSec":0.001,` +
  `"totalTimeSec":${predicted / 1000},"promptTokensCount":${promptTokens},"predictedTokensCount":${predicted},` +
  `"totalTokensCount":${promptTokens + predicted}},"modelInfo":${FIRST_LOADED_JSON},"loadModelConfig":${LOAD_CONFIG_KV},` +
  `"predictionConfig":{"fields":[]}}`

/** Predictions in flight on one socket, by channel id: set to `true` when the client cancels. */
type Predictions = Map<number, { cancelled: boolean }>

/**
 * `predict`: prompt progress 0 and 1 (with details) and the first fragment at once, then the
 * remaining fragments, {@link FRAGMENTS_PER_WRITE} per write, one write per event-loop turn (so
 * concurrent predictions interleave and a cancel is seen), then `success` and `channelClose`. A
 * cancel ends the reply early with `stopReason: "userStopped"`.
 */
const predict = (ws: WebSocket, predictions: Predictions, channelId: number, frame: Frame) => {
  const total = replyTokens(frame)
  const promptTokens = 20
  const state = { cancelled: false }
  predictions.set(channelId, state)
  const prefix = `{"type":"channelSend","channelId":${channelId},"message":`
  let sent = 0
  const finish = (stopReason: string) => {
    predictions.delete(channelId)
    return [`${prefix}${successMessage(stopReason, promptTokens, sent)}}`, `{"type":"channelClose","channelId":${channelId}}`]
  }
  const next = () => {
    if (ws.readyState !== ws.OPEN) return predictions.delete(channelId)
    const frames: Array<string> = []
    if (sent === 0) {
      frames.push(`${prefix}${promptProgress(0, promptTokens)}}`, `${prefix}${promptProgress(1, promptTokens)}}`)
    }
    if (state.cancelled) return burst(ws, [...frames, ...finish("userStopped")])
    const end = sent === 0 ? Math.min(1, total) : Math.min(total, sent + FRAGMENTS_PER_WRITE)
    for (; sent < end; sent++) frames.push(`${prefix}${FRAGMENTS[sent % FRAGMENTS.length]}}`)
    if (sent >= total) return burst(ws, [...frames, ...finish("eosFound")])
    burst(ws, frames)
    setImmediate(next)
  }
  next()
}

const handleRpc = (ws: WebSocket, namespace: string, frame: Frame) => {
  const callId = frame.callId ?? -1
  switch (frame.endpoint) {
    case "embedString":
      return ws.send(rpcResult(callId, EMBEDDING_JSON))
    case "countTokens":
      return ws.send(rpcResult(callId, `{"tokenCount":${tokenCount(frame.parameter?.inputString ?? "")}}`))
    case "tokenize": {
      const count = tokenCount(frame.parameter?.inputString ?? "")
      return ws.send(rpcResult(callId, `{"tokens":${JSON.stringify(Array.from({ length: count }, (_, i) => 100 + i))}}`))
    }
    case "listLoaded":
      return ws.send(rpcResult(callId, namespace === "llm" ? LOADED_JSON : "[]"))
    case "unloadModel":
      return ws.send(rpcResult(callId, undefined))
    case "getModelInfo":
      return ws.send(rpcResult(callId, FIRST_LOADED_JSON))
    case "getLoadConfig":
      return ws.send(rpcResult(callId, LOAD_CONFIG_JSON))
    case "version":
      return ws.send(rpcResult(callId, VERSION_JSON))
    case "listDownloadedModels":
      return ws.send(rpcResult(callId, DOWNLOADED_JSON))
    default:
      return ws.send(rpcError(callId, `bench server: unknown endpoint ${String(frame.endpoint)}`))
  }
}

const handleChannel = (ws: WebSocket, namespace: string, predictions: Predictions, frame: Frame) => {
  const channelId = frame.channelId ?? -1
  const parameter = frame.creationParameter ?? {}
  if (frame.endpoint === "getOrLoad") {
    const key = parameter.identifier ?? "bench-llm"
    const frames = [channelSend(channelId, `{"type":"startLoading","identifier":${JSON.stringify(key)},"info":${JSON.stringify(infoFor(namespace, key))}}`)]
    for (const p of progressFor(progressCount(key))) frames.push(channelSend(channelId, `{"type":"loadProgress","progress":${p}}`))
    frames.push(channelSend(channelId, `{"type":"loadSuccess","info":${JSON.stringify(llmInstanceInfo(key, key, namespace))}}`))
    frames.push(`{"type":"channelClose","channelId":${channelId}}`)
    return burst(ws, frames)
  }
  if (frame.endpoint === "loadModel") {
    const key = parameter.modelKey ?? "bench-llm"
    const identifier = parameter.identifier ?? nextIdentifier(key)
    const frames = [channelSend(channelId, `{"type":"resolved","info":${JSON.stringify(infoFor(namespace, key))}}`)]
    for (const p of progressFor(progressCount(key))) frames.push(channelSend(channelId, `{"type":"progress","progress":${p}}`))
    frames.push(channelSend(channelId, `{"type":"success","info":${JSON.stringify(llmInstanceInfo(key, identifier, namespace))}}`))
    frames.push(`{"type":"channelClose","channelId":${channelId}}`)
    return burst(ws, frames)
  }
  if (frame.endpoint === "predict") return predict(ws, predictions, channelId, frame)
  if (frame.endpoint === "alive") return // never answers, like LM Studio
  const error = JSON.stringify({ title: `bench server: unknown channel ${String(frame.endpoint)}`, rootTitle: "unknown" })
  ws.send(`{"type":"channelError","channelId":${channelId},"error":${error}}`)
}

const wss = new WebSocketServer({ host: "127.0.0.1", port: PORT, perMessageDeflate: false, clientTracking: false })

wss.on("connection", (ws, request) => {
  const namespace = (request.url ?? "/").replace(/^.*\//, "")
  let authenticated = false
  const predictions: Predictions = new Map()
  ws.on("message", (data: Buffer) => {
    let frame: Frame
    try {
      frame = JSON.parse(data.toString()) as Frame
    } catch {
      return
    }
    if (!authenticated) {
      if (frame.authVersion !== undefined) {
        authenticated = true
        ws.send(`{"success":true}`)
      }
      return
    }
    switch (frame.type) {
      case "rpcCall":
        return handleRpc(ws, namespace, frame)
      case "channelCreate":
        return handleChannel(ws, namespace, predictions, frame)
      case "channelSend": {
        const prediction = frame.message?.type === "cancel" ? predictions.get(frame.channelId ?? -1) : undefined
        if (prediction !== undefined) prediction.cancelled = true
        return
      }
      case "keepAlive":
        return ws.send(`{"type":"keepAliveAck"}`)
      default:
        return // warnings, acks: nothing to do (loads finish synchronously)
    }
  })
  ws.on("error", () => {})
})

wss.on("listening", () => {
  const address = wss.address()
  const port = typeof address === "object" && address !== null ? address.port : PORT
  process.stdout.write(`${JSON.stringify({ port })}\n`)
})

// Exit at once: open client sockets would keep `wss.close()` waiting, and nothing needs flushing.
const shutdown = () => process.exit(0)
process.on("SIGTERM", shutdown)
process.on("SIGINT", shutdown)
process.on("disconnect", shutdown)
// Exit with the parent: the harness holds our stdin open and closes it (or dies) when done.
if (!process.stdin.isTTY) {
  process.stdin.on("end", shutdown)
  process.stdin.on("error", shutdown)
  process.stdin.resume()
}
