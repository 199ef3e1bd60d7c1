/**
 * Bad input is rejected with a typed InvalidArgumentError naming the field, before any frame is
 * sent (asserted on the simulator's traffic log).
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import type { LMStudioError } from "../src/index.js"
import { LLAMA, NOMIC, sent, setup } from "./support/harness.js"

type Client = Effect.Effect.Success<ReturnType<typeof setup>>["client"]

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
  ["ttl 0", (c) => c.llm.loadNewInstance(LLAMA, { ttl: 0 }), "ttl"],
  ["ttl negative", (c) => c.llm.loadNewInstance(LLAMA, { ttl: -5 }), "ttl"],
  ["ttl NaN", (c) => c.llm.loadNewInstance(LLAMA, { ttl: Number.NaN }), "ttl"],
  ["ttl infinite", (c) => c.llm.model(LLAMA, { ttl: Number.POSITIVE_INFINITY }), "ttl"],
  ["ttl under a millisecond", (c) => c.llm.loadNewInstance(LLAMA, { ttl: "0.5 millis" }), "ttl"],
  ["ttl fractional milliseconds", (c) => c.embedding.loadNewInstance(NOMIC, { ttl: 1.5 }), "ttl"],
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

describe("bad input fails before any I/O", () => {
  for (const [name, call, field] of cases) {
    it.scopedLive(`${name} → InvalidArgumentError(${field})`, () =>
      Effect.gen(function*() {
        const { client, sim } = yield* setup()
        const error = yield* Effect.flip(call(client))
        assert.strictEqual(error._tag, "InvalidArgumentError")
        if (error._tag === "InvalidArgumentError") assert.strictEqual(error.field, field)
        assert.include(error.message, field)
        assert.deepStrictEqual(yield* sent(sim), [], "no frame was sent")
        assert.strictEqual(yield* sim.connectionCount, 0, "no socket was even opened")
      }))
  }
})
