/**
 * Progress is idempotent, so a consumer that falls behind sees the latest fraction instead of a
 * queue of every packet: memory stays bounded whatever the server sends (issue 11, item 11).
 */
import { assert, describe, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"
import { LMStudioClient } from "../src/index.js"
import { defaultCatalog } from "../src/testing/index.js"
import { LLAMA } from "./support/harness.js"
import { acceptAll, listen } from "./support/scriptedServer.js"

/** Far below the packet count, above the client's per-consumer bound (1,024 queued items). */
const BOUND = 2_000

const info = defaultCatalog.find((m) => m.modelKey === LLAMA)!
const instance = { ...info, identifier: LLAMA, instanceReference: "ref-1", contextLength: 4096, maxContextLength: 131072, trainedForToolUse: false, vision: false }

/** One unmasked server-to-client text frame of an ASCII payload under 126 bytes, as latin1 text. */
const textFrame = (text: string): string => {
  if (text.length >= 126) throw new Error("textFrame: payload too long")
  return String.fromCharCode(0x81, text.length) + text
}

/**
 * Answers `loadModel` with `resolved`, `packets` progress packets (increasing, the last one 1),
 * `success` and `channelClose`, written to the socket in one burst; answers RPCs with `[]`.
 */
const floodingServer = (packets: number) =>
  listen(acceptAll((peer, frame) => {
    const f = frame as { type?: string; channelId: number; callId: number }
    if (f.type === "rpcCall") peer.send({ type: "rpcResult", callId: f.callId, result: [] })
    if (f.type !== "channelCreate") return
    peer.send({ type: "channelSend", channelId: f.channelId, message: { type: "resolved", info } })
    const frames: Array<string> = []
    for (let i = 1; i <= packets; i++) {
      frames.push(textFrame(`{"type":"channelSend","channelId":${f.channelId},"message":{"type":"progress","progress":${i / packets}}}`))
    }
    ;(peer.socket as unknown as { _socket: { write(data: Buffer): void } })._socket.write(Buffer.from(frames.join(""), "latin1"))
    peer.send({ type: "channelSend", channelId: f.channelId, message: { type: "success", info: instance } })
    peer.send({ type: "channelClose", channelId: f.channelId })
  }))

describe("progress behind a stalled consumer", () => {
  it.scopedLive("a load-event stream that stops pulling gets the latest progress, not 500,000 queued events", () =>
    Effect.gen(function*() {
      const server = yield* floodingServer(500_000)
      const client = yield* LMStudioClient.make({ baseUrl: server.url })
      const stalled = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()
      const progress: Array<number> = []
      const consumer = yield* client.llm.loadNewInstanceStream(LLAMA).pipe(
        Stream.runForEach((event) =>
          event._tag === "Progress"
            ? Effect.sync(() => progress.push(event.progress))
            : event._tag === "Resolved"
            ? Effect.zipRight(Deferred.succeed(stalled, undefined), Deferred.await(release))
            : Effect.void
        ),
        Effect.fork
      )
      yield* Deferred.await(stalled)
      // A reply sent after the burst on the same socket: every packet has reached the client.
      yield* client.llm.listLoaded()
      yield* Deferred.succeed(release, undefined)
      yield* Fiber.join(consumer)
      assert.isAtMost(progress.length, BOUND, `${progress.length} progress events were queued`)
      assert.strictEqual(progress.at(-1), 1, "the latest fraction wins")
    }), 60_000)

  it.scopedLive("a progress callback that blocks sees the latest progress, not 100,000 queued calls", () =>
    Effect.gen(function*() {
      const server = yield* floodingServer(100_000)
      const client = yield* LMStudioClient.make({ baseUrl: server.url })
      const stalled = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()
      const progress: Array<number> = []
      const load = yield* client.llm.loadNewInstance(LLAMA, {
        onProgress: (p) =>
          progress.length === 0
            ? Effect.zipRight(Effect.sync(() => progress.push(p)), Effect.zipRight(Deferred.succeed(stalled, undefined), Deferred.await(release)))
            : Effect.sync(() => progress.push(p))
      }).pipe(Effect.fork)
      yield* Deferred.await(stalled)
      yield* client.llm.listLoaded()
      yield* Deferred.succeed(release, undefined)
      const model = yield* Fiber.join(load)
      assert.strictEqual(model.identifier, LLAMA)
      assert.isAtMost(progress.length, BOUND, `${progress.length} progress calls were queued`)
      assert.strictEqual(progress.at(-1), 1)
    }), 60_000)
})
