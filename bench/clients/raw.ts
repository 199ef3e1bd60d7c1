/** Raw `ws` with hand-written JSON frames: the floor (what the socket and JSON alone cost). */
import { WebSocket } from "ws"
import { type BenchClient, countInLanes, countUntil, now } from "./shared.js"

interface RawFrame {
  readonly success?: boolean
  readonly type?: string
  readonly callId?: number
  readonly channelId?: number
  readonly result?: unknown
  readonly message?: { readonly type?: string; readonly progress?: number; readonly info?: { readonly identifier?: string } }
}

type ChannelHandler = (frame: RawFrame) => void

/** One authenticated `/llm` socket: RPCs and channels by id, nothing validated. */
class RawConnection {
  nextId = 0
  readonly calls = new Map<number, (result: unknown) => void>()
  readonly channels = new Map<number, ChannelHandler>()

  private constructor(readonly ws: WebSocket) {}

  static open(baseUrl: string): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`${baseUrl}/llm`, { perMessageDeflate: false })
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
    return new Promise((resolve) => {
      const callId = this.nextId++
      this.calls.set(callId, resolve)
      this.ws.send(
        parameter === undefined
          ? `{"type":"rpcCall","endpoint":"${endpoint}","callId":${callId}}`
          : `{"type":"rpcCall","endpoint":"${endpoint}","callId":${callId},"parameter":${JSON.stringify(parameter)}}`
      )
    })
  }

  /** Opens a load channel; resolves with the loaded identifier on the terminal packet. */
  load(endpoint: "getOrLoad" | "loadModel", key: string, onProgress?: (progress: number) => void): Promise<string> {
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
            return resolve(message.info?.identifier ?? "")
        }
      })
      const parameter = endpoint === "getOrLoad"
        ? `{"identifier":${JSON.stringify(key)},"loadConfigStack":{"layers":[]}}`
        : `{"modelKey":${JSON.stringify(key)},"loadConfigStack":{"layers":[]}}`
      this.ws.send(`{"type":"channelCreate","endpoint":"${endpoint}","channelId":${channelId},"creationParameter":${parameter}}`)
    })
  }

  /** Opens a predict channel; calls `onFragment` per fragment, resolves on `success`. */
  predict(instanceReference: string, onFragment: (content: string) => void): Promise<void> {
    return new Promise((resolve) => {
      const channelId = this.nextId++
      this.channels.set(channelId, (frame) => {
        if (frame.type === "channelClose") {
          this.channels.delete(channelId)
          return
        }
        const message = frame.message as { type?: string; fragment?: { content?: string } } | undefined
        if (message?.type === "fragment") onFragment(message.fragment?.content ?? "")
        else if (message?.type === "success") resolve()
      })
      this.ws.send(
        `{"type":"channelCreate","endpoint":"predict","channelId":${channelId},"creationParameter":{"modelSpecifier":` +
          `{"type":"instanceReference","instanceReference":${JSON.stringify(instanceReference)}},"history":{"messages":` +
          `[{"role":"user","content":[{"type":"text","text":"Tell me a story."}]}]},"predictionConfigStack":` +
          `{"layers":[{"layerName":"apiOverride","config":{"fields":[]}}]}}}`
      )
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
    predictions: async (deadline) => {
      const info = (await connection.call("getModelInfo", { specifier: { type: "query", query: {} }, throwIfNotFound: true })) as {
        instanceReference: string
      }
      let fragments = 0
      const onFragment = () => {
        fragments++
      }
      const ops = await countUntil(deadline, () => connection.predict(info.instanceReference, onFragment))
      return { ops, fragments }
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
    close: () => connection.close()
  }
}

