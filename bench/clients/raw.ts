/** Raw `ws` with hand-written JSON frames: the floor (what the socket and JSON alone cost). */
import { WebSocket } from "ws"
import {
  type BenchClient,
  boundedPool,
  countInBatches,
  countInLanes,
  countUntil,
  EMBEDDING_MODEL_KEY,
  now,
  PREDICTION_MODEL_KEY,
  predictionPrompt
} from "./shared.js"

interface RawFrame {
  readonly success?: boolean
  readonly type?: string
  readonly callId?: number
  readonly channelId?: number
  readonly result?: unknown
  readonly message?: {
    readonly type?: string
    readonly progress?: number
    readonly info?: { readonly identifier?: string; readonly instanceReference?: string }
  }
}

type ChannelHandler = (frame: RawFrame) => void

/** One authenticated `/llm` socket: RPCs and channels by id, nothing validated. */
export class RawConnection {
  nextId = 0
  readonly calls = new Map<number, (result: unknown) => void>()
  readonly channels = new Map<number, ChannelHandler>()

  private constructor(readonly ws: WebSocket) {}

  static open(baseUrl: string, namespace = "llm"): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`${baseUrl}/${namespace}`, { perMessageDeflate: false })
      const connection = new RawConnection(ws)
      let authenticated = false
      ws.on("open", () => {
        ws.send(JSON.stringify({ authVersion: 1, clientIdentifier: "bench-raw", clientPasskey: "bench-raw" }))
      })
      ws.on("message", (data: Buffer) => {
        const frame = JSON.parse(data.toString()) as RawFrame
        if (!authenticated) {
          authenticated = true
          return frame.success === true ? resolve(connection) : reject(new Error("auth failed"))
        }
        if (frame.callId !== undefined) {
          const resume = connection.calls.get(frame.callId)
          connection.calls.delete(frame.callId)
          resume?.(frame.result)
        } else if (frame.channelId !== undefined) {
          connection.channels.get(frame.channelId)?.(frame)
        }
      })
      ws.on("error", reject)
    })
  }

  call(endpoint: string, parameter?: unknown): Promise<unknown> {
    return new Promise((resolve) => this.callback(endpoint, resolve, parameter))
  }

  /** When set, frames sent in the same tick leave in one write (as lmstudio-effect's port does). */
  corkPerTick = false
  private corked = false

  /** One RPC; `onResult` runs in the socket's message event. */
  callback(endpoint: string, onResult: (result: unknown) => void, parameter?: unknown): void {
    const callId = this.nextId++
    this.calls.set(callId, onResult)
    if (this.corkPerTick && !this.corked) {
      const socket = (this.ws as unknown as { _socket: { cork(): void; uncork(): void } })._socket
      socket.cork()
      this.corked = true
      process.nextTick(() => {
        this.corked = false
        socket.uncork()
      })
    }
    this.ws.send(
      parameter === undefined
        ? `{"type":"rpcCall","endpoint":"${endpoint}","callId":${callId}}`
        : `{"type":"rpcCall","endpoint":"${endpoint}","callId":${callId},"parameter":${JSON.stringify(parameter)}}`
    )
  }

  /** One `predict` channel; resolves with the number of fragments once `success` arrives. */
  predict(instanceReference: string, text: string, onFirst?: () => void): Promise<number> {
    return new Promise((resolve) => {
      const channelId = this.nextId++
      let fragments = 0
      this.channels.set(channelId, (frame) => {
        if (frame.type === "channelClose") {
          this.channels.delete(channelId)
          return
        }
        const type = frame.message?.type
        if (type === "fragment") {
          if (fragments++ === 0) onFirst?.()
        } else if (type === "success") resolve(fragments)
      })
      const parameter = {
        modelSpecifier: { type: "instanceReference", instanceReference },
        history: { messages: [{ role: "user", content: [{ type: "text", text }] }] },
        predictionConfigStack: { layers: [{ layerName: "apiOverride", config: { fields: [] } }] }
      }
      this.ws.send(`{"type":"channelCreate","endpoint":"predict","channelId":${channelId},"creationParameter":${JSON.stringify(parameter)}}`)
    })
  }

  /** Opens a load channel; resolves with the loaded identifier on the terminal packet. */
  load(endpoint: "getOrLoad" | "loadModel", key: string, onProgress?: (progress: number) => void): Promise<string> {
    return this.loadInfo(endpoint, key, onProgress).then((info) => info.identifier ?? "")
  }

  /** Opens a load channel; resolves with the loaded instance's info on the terminal packet. */
  loadInfo(
    endpoint: "getOrLoad" | "loadModel",
    key: string,
    onProgress?: (progress: number) => void
  ): Promise<{ readonly identifier?: string; readonly instanceReference?: string }> {
    return new Promise((resolve) => {
      const channelId = this.nextId++
      this.channels.set(channelId, (frame) => {
        if (frame.type === "channelClose") {
          this.channels.delete(channelId)
          return
        }
        const message = frame.message
        switch (message?.type) {
          case "progress":
          case "loadProgress":
            onProgress?.(message.progress ?? 0)
            return
          case "success":
          case "loadSuccess":
          case "alreadyLoaded":
            return resolve(message.info ?? {})
        }
      })
      const parameter = endpoint === "getOrLoad"
        ? `{"identifier":${JSON.stringify(key)},"loadConfigStack":{"layers":[]}}`
        : `{"modelKey":${JSON.stringify(key)},"loadConfigStack":{"layers":[]}}`
      this.ws.send(`{"type":"channelCreate","endpoint":"${endpoint}","channelId":${channelId},"creationParameter":${parameter}}`)
    })
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.ws.readyState === WebSocket.CLOSED) return resolve()
      this.ws.once("close", () => resolve())
      this.ws.close()
    })
  }
}

export const makeRawClient = async (baseUrl: string): Promise<BenchClient> => {
  const connection = await RawConnection.open(baseUrl)

  const listLoaded = () => connection.call("listLoaded")
  const embedding = await RawConnection.open(baseUrl, "embedding")
  const llmReference = (await connection.loadInfo("getOrLoad", PREDICTION_MODEL_KEY)).instanceReference ?? ""
  const embedReference = (await embedding.loadInfo("getOrLoad", EMBEDDING_MODEL_KEY)).instanceReference ?? ""
  const llmSpecifier = { type: "instanceReference", instanceReference: llmReference }
  const embedSpecifier = { type: "instanceReference", instanceReference: embedReference }

  return {
    name: "raw ws",
    sequentialRpc: (deadline) => countUntil(deadline, listLoaded),
    concurrentRpc: (deadline, lanes) => countInLanes(deadline, lanes, listLoaded),
    getOrLoad: async (deadline, key) => {
      let progressEvents = 0
      const onProgress = () => {
        progressEvents++
      }
      const ops = await countUntil(deadline, () => connection.load("getOrLoad", key, onProgress))
      return { ops, progressEvents }
    },
    loadUnload: (deadline, key) =>
      countUntil(deadline, async () => {
        const identifier = await connection.load("loadModel", key)
        await connection.call("unloadModel", { identifier })
      }),
    concurrentLoads: async (count, key) => {
      await Promise.all(Array.from({ length: count }, () => connection.load("loadModel", key)))
    },
    connectFirstCall: async (deadline) => {
      const latencies: Array<number> = []
      while (now() < deadline) {
        const start = now()
        const fresh = await RawConnection.open(baseUrl)
        await fresh.call("listLoaded")
        latencies.push(now() - start)
        await fresh.close()
      }
      return latencies
    },
    rpcBatches: (deadline, size) => countInBatches(deadline, size, listLoaded),
    boundedForEach: (items, concurrency) => boundedPool(items, concurrency, listLoaded),
    streamPredictions: async (deadline, tokens) => {
      let predictions = 0
      let fragments = 0
      while (now() < deadline) {
        fragments += await connection.predict(llmReference, predictionPrompt(tokens))
        predictions++
      }
      return { predictions, fragments }
    },
    firstFragment: async (deadline, tokens) => {
      const latencies: Array<number> = []
      while (now() < deadline) {
        const start = now()
        await connection.predict(llmReference, predictionPrompt(tokens), () => latencies.push(now() - start))
      }
      return latencies
    },
    concurrentPredictions: async (count, tokens) => {
      const counts = await Promise.all(
        Array.from({ length: count }, () => connection.predict(llmReference, predictionPrompt(tokens)))
      )
      return counts.reduce((a, b) => a + b, 0)
    },
    embed: async (texts) =>
      (await Promise.all(texts.map((inputString) => embedding.call("embedString", { modelSpecifier: embedSpecifier, inputString }))))
        .length,
    countTokens: (deadline) =>
      countUntil(deadline, () => connection.call("countTokens", { specifier: llmSpecifier, inputString: "How many tokens is this sentence?" })),
    close: async () => {
      await embedding.close()
      await connection.close()
    }
  }
}

