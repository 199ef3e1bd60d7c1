/**
 * A minimal, fast LM Studio protocol server for benchmarks (lmstudio-protocol.md §1.4, §2, §4).
 *
 * Raw `ws`, no Effect, no schema validation, no timers: every reply is written synchronously as
 * soon as the request frame arrives, so that what the benchmark measures is the client. Run it in
 * its own process; it prints `{"port":N}` on stdout once it listens.
 *
 *   node --import tsx bench/server.ts [--progress N] [--port P]
 *
 * - Auth: any auth packet is accepted (`{"success":true}`).
 * - `listLoaded`: a small fixed list of LLM instance infos (the §5.3 field superset, valid for
 *   `@lmstudio/sdk@1.5.0`'s zod schema and for lmstudio-effect's Schema).
 * - `getOrLoad`: always loads: `startLoading` → N × `loadProgress` → `loadSuccess` → `channelClose`;
 *   the instance identifier is the requested string.
 * - `loadModel`: `resolved` → N × `progress` → `success` → `channelClose`; identifiers are unique
 *   per model key: `key`, `key:2`, `key:3`, … (a counter; never reused).
 * - `unloadModel`: void result (no `result` key), always succeeds. `getModelInfo`, `getLoadConfig`,
 *   `system/version`, `system/listDownloadedModels` answer with fixed values.
 *
 * - `predict`: prompt-processing progress 0 and 1 (with details), `PREDICTION_FRAGMENTS`
 *   one-token fragments, `success` (eosFound), `channelClose`, in one burst.
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
const llmInfo = (modelKey: string) => ({
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

/** `LLMInstanceInfo` (loaded instance), the §5.3 superset. */
const llmInstanceInfo = (modelKey: string, identifier: string) => ({
  ...llmInfo(modelKey),
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
  readonly parameter?: { readonly identifier?: string; readonly specifier?: { readonly type?: string } }
  readonly creationParameter?: { readonly identifier?: string; readonly modelKey?: string }
  readonly authVersion?: number
}

/** Fragments per prediction (workload 9; keep in step with bench/workloads.ts). */
const PREDICTION_FRAGMENTS = 200

const details = (processed: number) =>
  `{"cachedTokenCount":0,"totalPromptTokenCount":20,"processedPromptTokenCount":${processed},"unprocessedPromptTokenCount":${20 - processed}}`
const FRAGMENT_MESSAGES = Array.from({ length: PREDICTION_FRAGMENTS }, (_, i) =>
  `{"type":"fragment","fragment":{"content":${JSON.stringify(` word${i}`)},"tokensCount":1,"containsDrafted":false,"reasoningType":"none","isStructural":false}}`)
const PREDICTION_SUCCESS = JSON.stringify({
  type: "success",
  stats: {
    stopReason: "eosFound",
    tokensPerSecond: 1000,
    timeToFirstTokenSec: 0.001,
    totalTimeSec: 0.2,
    promptTokensCount: 20,
    predictedTokensCount: PREDICTION_FRAGMENTS + 1,
    totalTokensCount: PREDICTION_FRAGMENTS + 21
  },
  modelInfo: llmInstanceInfo("qwen2.5-0.5b-instruct", "qwen2.5-0.5b-instruct"),
  loadModelConfig: { fields: [{ key: "llm.load.contextLength", value: 4096 }] },
  predictionConfig: { fields: [] }
})

const underlyingSocket = (ws: WebSocket): Socket | undefined => (ws as unknown as { _socket?: Socket })._socket

/** Writes a burst of frames as one socket write. */
const burst = (ws: WebSocket, frames: ReadonlyArray<string>) => {
  const socket = underlyingSocket(ws)
  socket?.cork()
  for (const frame of frames) ws.send(frame)
  socket?.uncork()
}

const handleRpc = (ws: WebSocket, namespace: string, frame: Frame) => {
  const callId = frame.callId ?? -1
  switch (frame.endpoint) {
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

const handleChannel = (ws: WebSocket, frame: Frame) => {
  const channelId = frame.channelId ?? -1
  const parameter = frame.creationParameter ?? {}
  if (frame.endpoint === "getOrLoad") {
    const key = parameter.identifier ?? "bench-llm"
    const frames = [channelSend(channelId, `{"type":"startLoading","identifier":${JSON.stringify(key)},"info":${JSON.stringify(llmInfo(key))}}`)]
    for (const p of progressFor(progressCount(key))) frames.push(channelSend(channelId, `{"type":"loadProgress","progress":${p}}`))
    frames.push(channelSend(channelId, `{"type":"loadSuccess","info":${JSON.stringify(llmInstanceInfo(key, key))}}`))
    frames.push(`{"type":"channelClose","channelId":${channelId}}`)
    return burst(ws, frames)
  }
  if (frame.endpoint === "loadModel") {
    const key = parameter.modelKey ?? "bench-llm"
    const identifier = parameter.identifier ?? nextIdentifier(key)
    const frames = [channelSend(channelId, `{"type":"resolved","info":${JSON.stringify(llmInfo(key))}}`)]
    for (const p of progressFor(progressCount(key))) frames.push(channelSend(channelId, `{"type":"progress","progress":${p}}`))
    frames.push(channelSend(channelId, `{"type":"success","info":${JSON.stringify(llmInstanceInfo(key, identifier))}}`))
    frames.push(`{"type":"channelClose","channelId":${channelId}}`)
    return burst(ws, frames)
  }
  if (frame.endpoint === "predict") {
    const frames = [
      channelSend(channelId, `{"type":"promptProcessingProgress","progress":0,"details":${details(0)}}`),
      channelSend(channelId, `{"type":"promptProcessingProgress","progress":1,"details":${details(20)}}`)
    ]
    for (const message of FRAGMENT_MESSAGES) frames.push(channelSend(channelId, message))
    frames.push(channelSend(channelId, PREDICTION_SUCCESS))
    frames.push(`{"type":"channelClose","channelId":${channelId}}`)
    return burst(ws, frames)
  }
  if (frame.endpoint === "alive") return // never answers, like LM Studio
  const error = JSON.stringify({ title: `bench server: unknown channel ${String(frame.endpoint)}`, rootTitle: "unknown" })
  ws.send(`{"type":"channelError","channelId":${channelId},"error":${error}}`)
}

const wss = new WebSocketServer({ host: "127.0.0.1", port: PORT, perMessageDeflate: false, clientTracking: false })

wss.on("connection", (ws, request) => {
  const namespace = (request.url ?? "/").replace(/^.*\//, "")
  let authenticated = false
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
        return handleChannel(ws, frame)
      case "keepAlive":
        return ws.send(`{"type":"keepAliveAck"}`)
      default:
        return // cancel packets, warnings, acks: nothing to do (loads finish synchronously)
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
