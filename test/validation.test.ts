/**
 * Bad input is rejected with a typed InvalidArgumentError naming the field, before any frame is
 * sent (asserted on the simulator's traffic log).
 */
import { assert, describe, it, layer } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { type LMStudioError, LMStudioClient } from "../src/index.js"
import { LMStudioSimulator } from "../src/testing/index.js"
import { LLAMA, NOMIC, sent, setup } from "./support/harness.js"

type Client = LMStudioClient["Type"]

const longKey = "k".repeat(1025)

/** [name, the call, the field the error must name] */
const cases: ReadonlyArray<readonly [string, (client: Client) => Effect.Effect<unknown, LMStudioError.LMStudioError>, string]> = [
  ["empty model key (model)", (c) => c.llm.model(""), "modelKey"],
  ["empty model key (loadNewInstance)", (c) => c.llm.loadNewInstance(""), "modelKey"],
  ["over-long model key", (c) => c.llm.loadNewInstance(longKey), "modelKey"],
  ["control character in key", (c) => c.embedding.model("bad\nkey"), "modelKey"],
  ["empty identifier", (c) => c.llm.loadNewInstance(LLAMA, { identifier: "" }), "identifier"],
  ["over-long identifier", (c) => c.llm.loadNewInstance(LLAMA, { identifier: longKey }), "identifier"],
  ["identifier passed to model()", (c) => c.llm.model(LLAMA, { identifier: "x" } as never), "identifier"],
  ["empty identifier to unload", (c) => c.llm.unload(""), "identifier"],
  ["ttl 0", (c) => c.llm.loadNewInstance(LLAMA, { ttl: "0 millis" }), "ttl"],
  ["ttl negative", (c) => c.llm.loadNewInstance(LLAMA, { ttl: "-5 seconds" }), "ttl"],
  ["ttl NaN", (c) => c.llm.loadNewInstance(LLAMA, { ttl: Number.NaN as never }), "ttl"],
  ["ttl a bare number", (c) => c.llm.loadNewInstance(LLAMA, { ttl: 3600 as never }), "ttl"],
  ["ttl a bare number (model)", (c) => c.embedding.model(NOMIC, { ttl: 60_000 as never }), "ttl"],
  ["ttl infinite", (c) => c.llm.model(LLAMA, { ttl: Duration.infinity }), "ttl"],
  ["ttl under a millisecond", (c) => c.llm.loadNewInstance(LLAMA, { ttl: "0.5 millis" }), "ttl"],
  ["ttl fractional milliseconds", (c) => c.embedding.loadNewInstance(NOMIC, { ttl: "1.5 millis" }), "ttl"],
  ["ttl not a duration", (c) => c.llm.loadNewInstance(LLAMA, { ttl: "soon" as never }), "ttl"],
  ["contextLength 0", (c) => c.llm.loadNewInstance(LLAMA, { config: { contextLength: 0 } }), "config.contextLength"],
  ["contextLength fractional", (c) => c.llm.model(LLAMA, { config: { contextLength: 1.5 } }), "config.contextLength"],
  ["contextLength wrong type", (c) => c.llm.loadNewInstance(LLAMA, { config: { contextLength: "8k" } as never }), "config.contextLength"],
  ["gpu.ratio above 1", (c) => c.llm.loadNewInstance(LLAMA, { config: { gpu: { ratio: 1.5 } } }), "config.gpu.ratio"],
  ["unknown config key", (c) => c.llm.loadNewInstance(LLAMA, { config: { contextSize: 10 } as never }), "config.contextSize"],
  ["bad enum", (c) => c.llm.loadNewInstance(LLAMA, { config: { llamaKCacheQuantizationType: "q3" } as never }), "config.llamaKCacheQuantizationType"],
  ["embedding contextLength -1", (c) => c.embedding.loadNewInstance(NOMIC, { config: { contextLength: -1 } }), "config.contextLength"],
  ["LLM-only key on an embedding model", (c) => c.embedding.loadNewInstance(NOMIC, { config: { flashAttention: true } as never }), "config.flashAttention"],
  ["loadInactivityTimeout 0", (c) => c.llm.loadNewInstance(LLAMA, { loadInactivityTimeout: 0 }), "loadInactivityTimeout"],
  ["getModelInfo empty identifier", (c) => c.llm.getModelInfo(""), "query"],
  ["getModelInfo query of the wrong type", (c) => c.llm.getModelInfo({ vision: "yes" } as never), "query"],
  ["getModelInfo query with an unknown key", (c) => c.llm.getModelInfo({ name: "llama" } as never), "query"]
]

// One simulator and client for the whole table: no case may send a frame or open a socket, so
// the shared traffic log stays empty from the first case to the last.
layer(LMStudioSimulator.layerClient({ loadMs: 20, progressSteps: 5 }))("bad input fails before any I/O", (it) => {
  for (const [name, call, field] of cases) {
    it.effect(`${name} → InvalidArgumentError(${field})`, () =>
      Effect.gen(function*() {
        const client = yield* LMStudioClient
        const sim = yield* LMStudioSimulator.LMStudioSimulator
        const error = yield* Effect.flip(call(client))
        assert.strictEqual(error._tag, "InvalidArgumentError")
        if (error._tag === "InvalidArgumentError") assert.strictEqual(error.field, field)
        assert.include(error.message, field)
        assert.deepStrictEqual(yield* sent(sim), [], "no frame was sent")
        assert.strictEqual(yield* sim.connectionCount, 0, "no socket was even opened")
      }))
  }
})

describe("ttl: a bare number is refused (seconds in the official SDKs, milliseconds in Effect)", () => {
  it.scopedLive("the message says why and what to write", () =>
    Effect.gen(function*() {
      const { client, sim } = yield* setup()
      // @ts-expect-error a bare number is refused at compile time too
      const error = yield* Effect.flip(client.llm.loadNewInstance(LLAMA, { ttl: 3600 }))
      assert.strictEqual(error._tag, "InvalidArgumentError")
      assert.include(error.message, "not a bare number (got 3600)")
      assert.include(error.message, "seconds")
      assert.include(error.message, `"1 hour"`)
      assert.include(error.message, "Duration.hours(1)")
      assert.include(error.message, `"3600 seconds"`)
      assert.deepStrictEqual(yield* sent(sim), [])
    }))

  it.scopedLive("defaultTtl is refused as a bare number when the client is built", () =>
    Effect.gen(function*() {
      const { sim } = yield* setup()
      // @ts-expect-error a bare number is refused at compile time too
      const error = yield* Effect.flip(LMStudioClient.make({ baseUrl: sim.url, defaultTtl: 3600 }))
      assert.strictEqual(error._tag, "InvalidArgumentError")
      if (error._tag === "InvalidArgumentError") assert.strictEqual(error.field, "defaultTtl")
      assert.include(error.message, "Duration.hours(1)")
      assert.strictEqual(yield* sim.connectionCount, 0)
    }))

  it.scopedLive("a Duration or a string with its unit is sent as whole milliseconds", () =>
    Effect.gen(function*() {
      const { client } = yield* setup()
      const model = yield* client.llm.loadNewInstance(LLAMA, { ttl: Duration.hours(1) })
      assert.strictEqual((yield* model.getInfo).ttlMs, 3_600_000)
    }))
})

describe("model(key) takes no identifier", () => {
  it.scopedLive("refused at compile time with a message naming loadNewInstance, and at run time", () =>
    Effect.gen(function*() {
      const { client } = yield* setup()
      // @ts-expect-error model(key) takes no identifier: use loadNewInstance(key, { identifier }) to choose one
      const error = yield* Effect.flip(client.llm.model(LLAMA, { identifier: "mine" }))
      assert.strictEqual(error._tag, "InvalidArgumentError")
      assert.include(error.message, "loadNewInstance(key, { identifier })")
    }))
})
