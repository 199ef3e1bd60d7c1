/**
 * The simulator's traffic log stays bounded: a ring buffer of the last frames, optional listener.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { LMStudioSimulator } from "lmstudio-effect/testing"
import { call, connect } from "./support/rawSocket.js"

describe("simulator traffic log", () => {
  it.scopedLive("keeps only the last trafficLogSize frames, oldest first", () =>
    Effect.gen(function*() {
      const sim = yield* LMStudioSimulator.make({ loadMs: 0, trafficLogSize: 4 })
      const client = yield* connect(sim.url, "system") // auth in + out: 2 frames
      for (let callId = 0; callId < 5; callId++) yield* call(client, callId, "version")
      const kept = yield* sim.traffic
      assert.deepStrictEqual(
        kept.map((t) => [t.direction, (t.frame as { callId?: number }).callId]),
        [["in", 3], ["out", 3], ["in", 4], ["out", 4]]
      )
      yield* sim.clearTraffic
      assert.deepStrictEqual(yield* sim.traffic, [])
      yield* call(client, 5, "version")
      assert.lengthOf(yield* sim.traffic, 2)
    }))

  it.scopedLive("size 0 keeps nothing; onTraffic still sees every frame, redacted", () =>
    Effect.gen(function*() {
      const seen: Array<LMStudioSimulator.TrafficEntry> = []
      const sim = yield* LMStudioSimulator.make({ loadMs: 0, trafficLogSize: 0, onTraffic: (entry) => seen.push(entry) })
      const client = yield* connect(sim.url, "system")
      yield* call(client, 0, "version")
      assert.deepStrictEqual(yield* sim.traffic, [])
      assert.deepStrictEqual(seen.map((t) => t.direction), ["in", "out", "in", "out"])
      assert.strictEqual((seen[0]!.frame as { clientPasskey: string }).clientPasskey, "<redacted>")
    }))

  it.scopedLive("the default keeps 10,000 frames", () =>
    Effect.gen(function*() {
      const sim = yield* LMStudioSimulator.make({ loadMs: 0 })
      const client = yield* connect(sim.url, "system")
      yield* Effect.forEach(Array.from({ length: 5_100 }, (_, i) => i), (i) =>
        client.send({ type: "rpcCall", endpoint: "version", callId: i }), { discard: true })
      for (let i = 0; i < 5_100; i++) yield* client.next
      const kept = yield* sim.traffic
      assert.lengthOf(kept, 10_000)
      assert.strictEqual((kept.at(-1)!.frame as { callId: number }).callId, 5_099)
    }))
})
