/**
 * embed / tokenize / countTokens / image uploads: lmstudio-effect sends the same frames as the official
 * `@lmstudio/sdk@1.5.0`, frame for frame (instance references, which the simulator draws at
 * random, are compared by position).
 */
import { assert, describe, it } from "@effect/vitest"
import { LMStudioClient as OfficialClient } from "@lmstudio/sdk"
import * as Effect from "effect/Effect"
import { LMStudioClient } from "../src/index.js"
import { LMStudioSimulator } from "../src/testing/index.js"
import { LLAMA, NOMIC } from "./support/harness.js"

const DOT_PNG_BASE64 =
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="

const silent = { info() {}, warn() {}, error() {}, debug() {} }

/**
 * Frames a client sent on each namespace (auth packets and warnings left out), in order, with
 * each instance reference replaced by its order of first appearance.
 */
const framesByNamespace = (sim: LMStudioSimulator.LMStudioSimulator.Service) =>
  Effect.map(sim.traffic, (entries) => {
    const references = new Map<string, string>()
    const out: Record<string, Array<unknown>> = {}
    for (const entry of entries) {
      const frame = entry.frame as Record<string, unknown>
      if (entry.direction !== "in" || typeof frame !== "object" || frame === null) continue
      if ("authVersion" in frame || frame.type === "communicationWarning") continue
      const normalised = JSON.parse(JSON.stringify(frame), (key, value) => {
        if (key !== "instanceReference" || typeof value !== "string") return value
        if (!references.has(value)) references.set(value, `instance-${references.size}`)
        return references.get(value)
      })
      ;(out[entry.namespace] ??= []).push(normalised)
    }
    return out
  })

// 1.5.0 always sends a GPU split when loading; with one given, both clients send the same load.
const gpu = { mainGpu: 1, splitStrategy: "favorMainGpu" } as const

describe("the same frames as the official client (inference RPCs)", () => {
  it.scopedLive("embed one and many, tokenize one and many, countTokens (embedding and LLM handles), an image upload", () =>
    Effect.gen(function*() {
      const oursSim = yield* LMStudioSimulator.make({ loadMs: 0 })
      const officialSim = yield* LMStudioSimulator.make({ loadMs: 0 })
      const texts = ["The cat sat on the mat.", "Stocks fell sharply.", "A kitten sleeps."]

      const client = yield* LMStudioClient.make({ baseUrl: oursSim.url })
      const embedding = yield* client.embedding.loadNewInstance(NOMIC, { config: { gpu } })
      const ourVector = yield* embedding.embed("Chaos is a ladder.")
      const ourVectors = yield* embedding.embed(texts)
      yield* embedding.tokenize("Chaos is a ladder.")
      yield* embedding.tokenize(texts)
      yield* embedding.countTokens("Chaos is a ladder.")
      yield* client.files.prepareImage({ name: "dot.png", base64: DOT_PNG_BASE64 })
      const llm = yield* client.llm.loadNewInstance(LLAMA, { config: { gpu } })
      const ourTokens = yield* llm.tokenize(texts)
      const ourCount = yield* llm.countTokens("Chaos is a ladder.")

      const theirs = yield* Effect.promise(async () => {
        const official = new OfficialClient({ baseUrl: officialSim.url, logger: silent })
        try {
          const model = await official.embedding.load(NOMIC, { config: { gpu } })
          const vector = await model.embed("Chaos is a ladder.")
          const vectors = await model.embed(texts)
          await model.tokenize("Chaos is a ladder.")
          await model.tokenize(texts)
          await model.countTokens("Chaos is a ladder.")
          await official.files.prepareImageBase64("dot.png", DOT_PNG_BASE64)
          const llm = await official.llm.load(LLAMA, { config: { gpu } })
          const tokens = await llm.tokenize(texts)
          const count = await llm.countTokens("Chaos is a ladder.")
          return { vector: vector.embedding, vectors: vectors.map((v) => v.embedding), tokens, count }
        } finally {
          await official[Symbol.asyncDispose]()
        }
      })

      const ours = yield* framesByNamespace(oursSim)
      const official = yield* framesByNamespace(officialSim)
      assert.deepStrictEqual(Object.keys(ours).sort(), Object.keys(official).sort())
      for (const namespace of Object.keys(official)) {
        assert.deepStrictEqual(ours[namespace], official[namespace], `frames on /${namespace}`)
      }
      assert.strictEqual(ours.embedding?.length, 1 + 1 + 3 + 1 + 3 + 1)
      assert.strictEqual(ours.files?.length, 1)
      // Same server behaviour, same answers.
      assert.deepStrictEqual(ourVector, theirs.vector)
      assert.deepStrictEqual(ourVectors, theirs.vectors)
      assert.deepStrictEqual(ourTokens, theirs.tokens)
      assert.strictEqual(ourCount, theirs.count)
    }))
})
