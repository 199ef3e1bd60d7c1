/**
 * A raw `ws` client for simulator tests that look at frames: connect and authenticate, call an
 * RPC, run a channel to its end.
 */
import { assert } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import { WebSocket } from "ws"

// Frames are asserted field by field; `any` keeps the tests readable.
export type Frame = any

export interface RawClient {
  readonly send: (frame: unknown) => Effect.Effect<void>
  /** The next frame received (parsed JSON, or the raw text). */
  readonly next: Effect.Effect<Frame>
}

/** Opens `<url>/<namespace>` for the test's scope and authenticates as a fresh guest. */
export const connect = (url: string, namespace: string) =>
  Effect.gen(function*() {
    const inbox = yield* Queue.unbounded<Frame>()
    const ws = yield* Effect.acquireRelease(
      Effect.async<WebSocket, Error>((resume) => {
        const ws = new WebSocket(`${url}/${namespace}`)
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
        ws.once("open", () => resume(Effect.succeed(ws)))
        ws.once("error", (error) => resume(Effect.fail(error)))
      }),
      (ws) => Effect.sync(() => ws.terminate())
    )
    const client: RawClient = { send: (frame) => Effect.sync(() => ws.send(JSON.stringify(frame))), next: Queue.take(inbox) }
    yield* client.send({ authVersion: 1, clientIdentifier: `guest:${Math.random()}`, clientPasskey: "pk" })
    assert.deepStrictEqual(yield* client.next, { success: true })
    return client
  })

/** Calls an RPC and returns the next frame (the answer, when nothing else is in flight). */
export const call = (client: RawClient, callId: number, endpoint: string, parameter?: unknown) =>
  Effect.gen(function*() {
    yield* client.send({ type: "rpcCall", endpoint, callId, ...(parameter !== undefined ? { parameter } : {}) })
    return yield* client.next
  })

/** Opens a channel and collects its frames up to and including `channelClose`/`channelError`. */
export const channel = (client: RawClient, channelId: number, endpoint: string, creationParameter: unknown) =>
  Effect.gen(function*() {
    yield* client.send({ type: "channelCreate", endpoint, channelId, creationParameter })
    const frames: Array<Frame> = []
    while (true) {
      const frame = yield* client.next
      frames.push(frame)
      if ((frame.type === "channelClose" || frame.type === "channelError") && frame.channelId === channelId) {
        return frames
      }
    }
  })

export const EMPTY_STACK = { layers: [{ layerName: "apiOverride", config: { fields: [] } }] }
