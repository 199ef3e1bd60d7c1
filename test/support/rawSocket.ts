/**
 * A raw `ws` client for wire-level simulator tests: authenticate, send frames, read frames one at
 * a time, collect a channel's frames up to its end.
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Queue from "effect/Queue"
import * as TestServices from "effect/TestServices"
import { WebSocket } from "ws"

// Frames are asserted field by field; `any` keeps the tests readable.
export type Frame = any

/** A real-time pause, whatever clock the test runs on. */
export const realSleep = (ms: number) => TestServices.provideLive(Effect.sleep(ms))

export interface RawClient {
  readonly ws: WebSocket
  readonly send: (frame: unknown) => Effect.Effect<void>
  /** Sends several frames in one synchronous burst (they reach the server together). */
  readonly sendAll: (frames: ReadonlyArray<unknown>) => Effect.Effect<void>
  /** Sends a text frame as is (e.g. one that is not JSON). */
  readonly sendText: (text: string) => Effect.Effect<void>
  /** The next frame received (parsed JSON, or the raw text). */
  readonly next: Effect.Effect<Frame>
  /** Frames received and not yet taken. */
  readonly backlog: Effect.Effect<number>
  /** Completes with the close code. */
  readonly closed: Deferred.Deferred<number>
}

/** Opens a raw socket to `url` (no authentication); terminated when the scope closes. */
export const open = (url: string) =>
  Effect.acquireRelease(
    Effect.gen(function*() {
      const inbox = yield* Queue.unbounded<Frame>()
      const closed = yield* Deferred.make<number>()
      const ws = yield* Effect.async<WebSocket, Error>((resume) => {
        const ws = new WebSocket(url)
        ws.on("message", (data) => {
          const text = data.toString()
          let frame: Frame
          try {
            frame = JSON.parse(text)
          } catch {
            frame = text
          }
          Queue.unsafeOffer(inbox, frame)
        })
        ws.on("close", (code) => Deferred.unsafeDone(closed, Exit.succeed(code)))
        ws.once("open", () => resume(Effect.succeed(ws)))
        ws.once("error", (error) => resume(Effect.fail(error)))
      })
      const client: RawClient = {
        ws,
        send: (frame) => Effect.sync(() => ws.send(JSON.stringify(frame))),
        sendAll: (frames) => Effect.sync(() => frames.forEach((frame) => ws.send(JSON.stringify(frame)))),
        sendText: (text) => Effect.sync(() => ws.send(text)),
        next: Queue.take(inbox),
        backlog: Queue.size(inbox),
        closed
      }
      return client
    }),
    (client) => Effect.sync(() => client.ws.terminate())
  )

/** Opens `<url>/<namespace>` and authenticates as a fresh guest. */
export const connect = (url: string, namespace: string) =>
  Effect.gen(function*() {
    const client = yield* open(`${url}/${namespace}`)
    yield* client.send({ authVersion: 1, clientIdentifier: `guest:${Math.random()}`, clientPasskey: "pk" })
    const reply = yield* client.next
    if (reply?.success !== true) return yield* Effect.dieMessage(`authentication failed: ${JSON.stringify(reply)}`)
    return client
  })

/** Frames of `channelId` up to and including its `channelClose` / `channelError`. */
export const untilEnd = (client: RawClient, channelId: number) =>
  Effect.gen(function*() {
    const frames: Array<Frame> = []
    while (true) {
      const frame = yield* client.next
      if (frame.channelId !== channelId) continue
      frames.push(frame)
      if (frame.type === "channelClose" || frame.type === "channelError") return frames
    }
  })

/** Makes an RPC call and returns its `rpcResult` / `rpcError` frame. */
export const call = (client: RawClient, callId: number, endpoint: string, parameter?: unknown) =>
  Effect.gen(function*() {
    yield* client.send({ type: "rpcCall", endpoint, callId, ...(parameter !== undefined ? { parameter } : {}) })
    while (true) {
      const frame = yield* client.next
      if ((frame.type === "rpcResult" || frame.type === "rpcError") && frame.callId === callId) return frame
    }
  })

/** Opens a channel and collects its frames up to its end. */
export const channel = (client: RawClient, channelId: number, endpoint: string, creationParameter: unknown) =>
  Effect.gen(function*() {
    yield* client.send({ type: "channelCreate", endpoint, channelId, creationParameter })
    return yield* untilEnd(client, channelId)
  })

/** The `channelSend` messages among frames. */
export const packets = (frames: ReadonlyArray<Frame>): Array<Frame> =>
  frames.filter((f) => f.type === "channelSend").map((f) => f.message)
