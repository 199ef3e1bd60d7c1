/**
 * lmstudio-effect and the official `@lmstudio/sdk@1.5.0` send the same frames for the same
 * operations: both run against fresh simulators and their traffic logs are compared.
 */
import { assert, describe, it } from "@effect/vitest"
import { LMStudioClient as OfficialClient } from "@lmstudio/sdk"
import * as Effect from "effect/Effect"
import { LMStudioClient } from "../src/index.js"
import { LMStudioSimulator } from "../src/testing/index.js"
import { LLAMA, NOMIC, QWEN } from "./support/harness.js"

const silent = { info() {}, warn() {}, error() {}, debug() {} }

type Frame = Record<string, unknown>

/** Frames a client sent on each namespace (auth packets and warnings left out), in order. */
const framesByNamespace = (sim: LMStudioSimulator.LMStudioSimulator.Service) =>
  Effect.map(sim.traffic, (entries) => {
    const out: Record<string, Array<Frame>> = {}
    for (const entry of entries) {
      const frame = entry.frame as Frame
      if (entry.direction !== "in" || typeof frame !== "object" || frame === null) continue
      if ("authVersion" in frame || frame.type === "communicationWarning") continue
      ;(out[entry.namespace] ??= []).push(frame)
    }
    return out
  })

// The same explicit config in both APIs. A GPU setting is included because 1.5.0 always sends
// `load.gpuSplitConfig`; with one given, the current official mapping and 1.5.0's agree.
const gpu = { ratio: 0.5, mainGpu: 1, splitStrategy: "favorMainGpu" } as const
const llmConfig = { contextLength: 4096, flashAttention: true, keepModelInMemory: true, gpu }

/**
 * The one deliberate difference: `handle.unload` first asks for its own instance by reference
 * (`getModelInfo`), so that it never unloads a newer instance that reused the identifier; the
 * official client sends only `unloadModel`. Asserts that check is there and removes it (and the
 * id it used, ids being one counter per connection).
 */
const withoutInstanceCheck = (
  frames: Record<string, Array<Frame>>,
  instanceReference: string
): Record<string, Array<Frame>> => {
  const llm = frames.llm ?? []
  const index = llm.findIndex((f) =>
    f.endpoint === "getModelInfo" &&
    JSON.stringify(f.parameter) === JSON.stringify({ specifier: { type: "instanceReference", instanceReference }, throwIfNotFound: false })
  )
  assert.isAbove(index, -1, "handle.unload checks its own instance first")
  const shifted = llm.slice(index + 1).map((f) =>
    typeof f.callId === "number" ? { ...f, callId: f.callId - 1 } : typeof f.channelId === "number" ? { ...f, channelId: f.channelId - 1 } : f
  )
  return { ...frames, llm: [...llm.slice(0, index), ...shifted] }
}

describe("the same frames as the official client", () => {
  it.scopedLive("load, get-or-load, list, info, unload", () =>
    Effect.gen(function*() {
      const oursSim = yield* LMStudioSimulator.make({ loadMs: 0 })
      const officialSim = yield* LMStudioSimulator.make({ loadMs: 0 })

      const client = yield* LMStudioClient.make({ baseUrl: oursSim.url })
      const named = yield* client.llm.loadNewInstance(LLAMA, { identifier: "mine", ttl: "5 minutes", config: llmConfig })
      yield* client.llm.model(QWEN, { ttl: "1 minute", config: llmConfig })
      yield* client.llm.listLoaded()
      yield* client.llm.model()
      yield* named.unload
      yield* client.llm.unload(QWEN)
      yield* client.embedding.loadNewInstance(NOMIC, { config: { contextLength: 1024, gpu: { mainGpu: 1, splitStrategy: "favorMainGpu" } } })
      yield* client.embedding.unload(NOMIC)
      yield* client.system.listDownloadedModels()

      yield* Effect.promise(async () => {
        const official = new OfficialClient({ baseUrl: officialSim.url, logger: silent })
        try {
          const model = await official.llm.load(LLAMA, { identifier: "mine", ttl: 300, config: llmConfig })
          await official.llm.model(QWEN, { ttl: 60, config: llmConfig })
          await official.llm.listLoaded()
          await official.llm.model()
          await model.unload()
          await official.llm.unload(QWEN)
          await official.embedding.load(NOMIC, {
            config: { contextLength: 1024, gpu: { mainGpu: 1, splitStrategy: "favorMainGpu" } }
          })
          await official.embedding.unload(NOMIC)
          await official.system.listDownloadedModels()
        } finally {
          await official[Symbol.asyncDispose]()
        }
      })

      const ours = withoutInstanceCheck(yield* framesByNamespace(oursSim), named.info.instanceReference)
      const theirs = yield* framesByNamespace(officialSim)
      assert.deepStrictEqual(Object.keys(ours).sort(), Object.keys(theirs).sort())
      for (const namespace of Object.keys(theirs)) {
        assert.deepStrictEqual(ours[namespace], theirs[namespace], `frames on /${namespace}`)
      }
      assert.strictEqual(ours.llm?.length, 6)
    }))

  it.scopedLive("the default config differs only by 1.5.0's always-sent GPU split (the current client sends none)", () =>
    Effect.gen(function*() {
      const oursSim = yield* LMStudioSimulator.make({ loadMs: 0 })
      const officialSim = yield* LMStudioSimulator.make({ loadMs: 0 })
      const client = yield* LMStudioClient.make({ baseUrl: oursSim.url })
      yield* client.llm.loadNewInstance(LLAMA)
      yield* Effect.promise(async () => {
        const official = new OfficialClient({ baseUrl: officialSim.url, logger: silent })
        await official.llm.load(LLAMA)
        await official[Symbol.asyncDispose]()
      })
      const ours = (yield* framesByNamespace(oursSim)).llm?.[0] as { creationParameter: { loadConfigStack: unknown } }
      const theirs = (yield* framesByNamespace(officialSim)).llm?.[0] as {
        creationParameter: { loadConfigStack: { layers: Array<{ config: { fields: Array<{ key: string }> } }> } }
      }
      assert.deepStrictEqual(ours.creationParameter.loadConfigStack, {
        layers: [{ layerName: "apiOverride", config: { fields: [] } }]
      })
      assert.deepStrictEqual(theirs.creationParameter.loadConfigStack.layers[0]?.config.fields.map((f) => f.key), [
        "load.gpuSplitConfig"
      ])
    }))
})
