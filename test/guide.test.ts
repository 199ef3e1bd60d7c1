/**
 * LM Studio's "Load and Access Models" guide, section by section, as lmstudio-effect programs
 * against the simulator.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import { LMStudioClient, Lms } from "../src/index.js"
import { LMStudioSimulator } from "../src/testing/index.js"
import { LLAMA, loadedIds, NOMIC, QWEN, sent, setup } from "./support/harness.js"

describe("guide: access any loaded model", () => {
  it.scopedLive("Lms.llm() and client.llm.model() return a loaded LLM", () =>
    Effect.gen(function*() {
      const { client, sim } = yield* setup()
      yield* sim.preload(LLAMA)
      const layer = Layer.succeed(LMStudioClient, client)
      const viaLms = yield* Lms.llm().pipe(Effect.provide(layer))
      const viaClient = yield* client.llm.model()
      assert.strictEqual(viaLms.identifier, LLAMA)
      assert.strictEqual(viaClient.identifier, LLAMA)
      assert.strictEqual(viaClient.info.type, "llm")
      assert.strictEqual(viaClient._tag, "LlmHandle")
    }))

  it.scopedLive("Lms.embeddingModel() returns a loaded embedding model, not an LLM", () =>
    Effect.gen(function*() {
      const { client, sim } = yield* setup()
      yield* sim.preload(LLAMA)
      yield* sim.preload(NOMIC)
      const model = yield* Lms.embeddingModel().pipe(Effect.provide(Layer.succeed(LMStudioClient, client)))
      assert.strictEqual(model.identifier, NOMIC)
      assert.strictEqual(model._tag, "EmbeddingHandle")
    }))

  it.scopedLive("nothing loaded: a typed ModelNotFoundError that says how to load one", () =>
    Effect.gen(function*() {
      const { client } = yield* setup()
      const error = yield* Effect.flip(client.llm.model())
      assert.strictEqual(error._tag, "ModelNotFoundError")
      assert.include(error.message, "No LLM is loaded")
      assert.include(error.message, "client.llm.model(")
    }))
})

describe("guide: access a specific model (get-or-load)", () => {
  it.scopedLive("model(key) loads when needed, then returns the same instance", () =>
    Effect.gen(function*() {
      const { client, sim } = yield* setup()
      const first = yield* client.llm.model(LLAMA)
      assert.strictEqual(first.identifier, LLAMA)
      assert.strictEqual(first.modelKey, LLAMA)
      const second = yield* client.llm.model(LLAMA)
      assert.strictEqual(second.identifier, LLAMA)
      assert.deepStrictEqual(yield* loadedIds(sim), [LLAMA])
      const creates = yield* sent(sim, "channelCreate")
      assert.deepStrictEqual(creates.map((f) => f.endpoint), ["getOrLoad", "getOrLoad"])
      assert.strictEqual((creates[0]?.creationParameter as { identifier: string }).identifier, LLAMA)
    }))

  it.scopedLive("model(key) finds an instance loaded under another identifier by its model key", () =>
    Effect.gen(function*() {
      const { client, sim } = yield* setup()
      yield* sim.preload(QWEN, { identifier: "my-qwen" })
      const model = yield* client.llm.model(QWEN)
      assert.strictEqual(model.identifier, "my-qwen")
      assert.deepStrictEqual(yield* loadedIds(sim), ["my-qwen"])
    }))

  it.scopedLive("an identifier option is an InvalidArgumentError and nothing is sent", () =>
    Effect.gen(function*() {
      const { client, sim } = yield* setup()
      const error = yield* Effect.flip(client.llm.model(LLAMA, { identifier: "x" } as never))
      assert.strictEqual(error._tag, "InvalidArgumentError")
      assert.strictEqual((error as { field: string }).field, "identifier")
      assert.include(error.message, "loadNewInstance")
      assert.deepStrictEqual(yield* sent(sim), [])
    }))

  it.scopedLive("an unknown model key fails with ModelNotFoundError listing what is available", () =>
    Effect.gen(function*() {
      const { client, sim } = yield* setup()
      const error = yield* Effect.flip(client.llm.model("no-such-model"))
      assert.strictEqual(error._tag, "ModelNotFoundError")
      assert.include(error.message, "not downloaded")
      assert.deepStrictEqual(yield* sim.loaded, [])
    }))
})

describe("guide: load a new instance", () => {
  it.scopedLive("loadNewInstance always loads another copy; auto identifiers are key, key:2", () =>
    Effect.gen(function*() {
      const { client, sim } = yield* setup()
      const first = yield* client.llm.loadNewInstance(LLAMA)
      const second = yield* client.llm.loadNewInstance(LLAMA)
      assert.strictEqual(first.identifier, LLAMA)
      assert.strictEqual(second.identifier, `${LLAMA}:2`)
      assert.deepStrictEqual(yield* loadedIds(sim), [LLAMA, `${LLAMA}:2`])
    }))

  it.scopedLive("an explicit identifier is used; reusing it is an IdentifierInUseError and loads nothing", () =>
    Effect.gen(function*() {
      const { client, sim } = yield* setup()
      const named = yield* client.llm.loadNewInstance(LLAMA, { identifier: "second-llama" })
      assert.strictEqual(named.identifier, "second-llama")
      const error = yield* Effect.flip(client.llm.loadNewInstance(LLAMA, { identifier: "second-llama" }))
      assert.strictEqual(error._tag, "IdentifierInUseError")
      if (error._tag === "IdentifierInUseError") assert.strictEqual(error.identifier, "second-llama")
      assert.include(error.message, "already exists")
      assert.deepStrictEqual(yield* loadedIds(sim), ["second-llama"])
    }))
})

describe("guide: unload", () => {
  it.scopedLive("by handle and by identifier", () =>
    Effect.gen(function*() {
      const { client, sim } = yield* setup()
      const model = yield* client.llm.loadNewInstance(LLAMA)
      yield* client.embedding.loadNewInstance(NOMIC, { identifier: "nomic" })
      yield* model.unload
      assert.deepStrictEqual(yield* loadedIds(sim), ["nomic"])
      yield* client.embedding.unload("nomic")
      assert.deepStrictEqual(yield* loadedIds(sim), [])
    }))

  it.scopedLive("an unknown identifier is a ModelNotFoundError, promptly", () =>
    Effect.gen(function*() {
      const { client } = yield* setup()
      const error = yield* Effect.flip(client.llm.unload("No such model")).pipe(Effect.timeout("2 seconds"))
      assert.strictEqual(error._tag, "ModelNotFoundError")
    }))

  it.scopedLive("a handle of an unloaded instance says so", () =>
    Effect.gen(function*() {
      const { client } = yield* setup()
      const model = yield* client.llm.loadNewInstance(LLAMA)
      yield* model.unload
      const error = yield* Effect.flip(model.getInfo)
      assert.strictEqual(error._tag, "ModelNotFoundError")
      assert.include(error.message, "already been unloaded")
    }))
})

describe("guide: time to live", () => {
  it.scopedLive("ttl is any Duration, sent as whole milliseconds and reported back", () =>
    Effect.gen(function*() {
      const { client, sim } = yield* setup()
      const model = yield* client.llm.loadNewInstance(LLAMA, { ttl: "1 hour" })
      assert.strictEqual((yield* model.getInfo).ttlMs, 3_600_000)
      const jit = yield* client.embedding.model(NOMIC, { ttl: "90 seconds" })
      assert.strictEqual((yield* jit.getInfo).ttlMs, 90_000)
      const creates = yield* sent(sim, "channelCreate")
      assert.strictEqual((creates[0]?.creationParameter as { ttlMs: number }).ttlMs, 3_600_000)
      assert.strictEqual((creates[1]?.creationParameter as { loadTtlMs: number }).loadTtlMs, 90_000)
    }))

  it.scopedLive("with model(key), ttl applies only when that call loads", () =>
    Effect.gen(function*() {
      const { client, sim } = yield* setup()
      yield* sim.preload(LLAMA)
      const model = yield* client.llm.model(LLAMA, { ttl: "5 minutes" })
      assert.strictEqual((yield* model.getInfo).ttlMs, null)
    }))

  it.scopedLive("a client-level defaultTtl applies to loads that give none", () =>
    Effect.gen(function*() {
      const { client } = yield* setup({}, { defaultTtl: "2 hours" })
      const model = yield* client.llm.loadNewInstance(LLAMA)
      assert.strictEqual((yield* model.getInfo).ttlMs, 7_200_000)
    }))
})

describe("guide: progress", () => {
  it.scopedLive("onProgress receives non-decreasing fractions in [0, 1] ending at 1", () =>
    Effect.gen(function*() {
      const { client } = yield* setup({ progressSteps: 8 })
      const seen: Array<number> = []
      yield* client.llm.loadNewInstance(LLAMA, { onProgress: (p) => Effect.sync(() => seen.push(p)) })
      assert.isAtLeast(seen.length, 2)
      for (let i = 1; i < seen.length; i++) assert.isAtLeast(seen[i]!, seen[i - 1]!)
      for (const p of seen) assert.isTrue(p >= 0 && p <= 1)
      assert.strictEqual(seen.at(-1), 1)
      const viaModel: Array<number> = []
      yield* client.llm.model(QWEN, { onProgress: (p) => Effect.sync(() => viaModel.push(p)) })
      assert.strictEqual(viaModel.at(-1), 1)
    }))

  it.scopedLive("loadNewInstanceStream: Resolved, Progress…, Loaded last", () =>
    Effect.gen(function*() {
      const { client } = yield* setup()
      const events = Chunk.toReadonlyArray(yield* Stream.runCollect(client.llm.loadNewInstanceStream(LLAMA)))
      assert.strictEqual(events[0]?._tag, "Resolved")
      assert.strictEqual(events.at(-1)?._tag, "Loaded")
      const progress = events.filter((e) => e._tag === "Progress").map((e) => e.progress)
      assert.isAtLeast(progress.length, 2)
      assert.strictEqual(progress.at(-1), 1)
      const loaded = events.at(-1)
      if (loaded?._tag === "Loaded") {
        assert.strictEqual(loaded.handle.identifier, LLAMA)
        assert.isTrue(loaded.loadedByThisCall)
      }
    }))

  it.scopedLive("modelStream reports JIT eviction of another domain's model", () =>
    Effect.gen(function*() {
      const { client, sim } = yield* setup()
      yield* client.embedding.model(NOMIC) // a JIT instance
      const events = Chunk.toReadonlyArray(yield* Stream.runCollect(client.llm.modelStream(LLAMA)))
      const evicted = events.filter((e) => e._tag === "UnloadingOtherJitModel")
      assert.strictEqual(evicted.length, 1)
      if (evicted[0]?._tag === "UnloadingOtherJitModel") assert.strictEqual(evicted[0].info.modelKey, NOMIC)
      const resolved = events.find((e) => e._tag === "Resolved")
      assert.strictEqual(resolved?._tag === "Resolved" ? resolved.identifier : undefined, LLAMA)
      assert.deepStrictEqual(yield* loadedIds(sim), [LLAMA])
    }))

  it.scopedLive("modelStream of a loaded model is just Loaded, not loaded by this call", () =>
    Effect.gen(function*() {
      const { client, sim } = yield* setup()
      yield* sim.preload(LLAMA)
      const events = Chunk.toReadonlyArray(yield* Stream.runCollect(client.llm.modelStream(LLAMA)))
      assert.deepStrictEqual(events.map((e) => e._tag), ["Loaded"])
      assert.isFalse(events[0]?._tag === "Loaded" && events[0].loadedByThisCall)
    }))
})

describe("guide: load config", () => {
  it.scopedLive("config is sent as the apiOverride KV layer and reads back as the same shape", () =>
    Effect.gen(function*() {
      const { client, sim } = yield* setup()
      const config = { contextLength: 8192, flashAttention: true, seed: 42, gpu: { ratio: 0.5 } } as const
      const model = yield* client.llm.loadNewInstance(LLAMA, { config })
      assert.strictEqual(yield* model.getContextLength, 8192)
      const readBack = yield* model.getLoadConfig
      assert.strictEqual(readBack.contextLength, 8192)
      assert.strictEqual(readBack.flashAttention, true)
      assert.strictEqual(readBack.seed, 42)
      assert.strictEqual(readBack.gpu?.ratio, 0.5)
      const create = (yield* sent(sim, "channelCreate"))[0]
      const stack = (create?.creationParameter as { loadConfigStack: { layers: Array<{ layerName: string; config: { fields: Array<{ key: string }> } }> } })
        .loadConfigStack
      assert.strictEqual(stack.layers.length, 1)
      assert.strictEqual(stack.layers[0]?.layerName, "apiOverride")
      assert.includeMembers(stack.layers[0]!.config.fields.map((f) => f.key), [
        "llm.load.contextLength",
        "llm.load.llama.flashAttention",
        "llm.load.seed",
        "load.gpuSplitConfig",
        "llm.load.llama.acceleration.offloadRatio"
      ])
    }))

  it.scopedLive("no config sends an empty apiOverride layer (current official client behaviour)", () =>
    Effect.gen(function*() {
      const { client, sim } = yield* setup()
      yield* client.embedding.loadNewInstance(NOMIC, { config: { contextLength: 1024 } })
      yield* client.llm.loadNewInstance(LLAMA)
      const creates = yield* sent(sim, "channelCreate")
      assert.deepStrictEqual((creates[1]?.creationParameter as { loadConfigStack: unknown }).loadConfigStack, {
        layers: [{ layerName: "apiOverride", config: { fields: [] } }]
      })
      const embedding = yield* client.embedding.model(NOMIC)
      assert.strictEqual(yield* embedding.getContextLength, 1024)
      assert.strictEqual((yield* embedding.getLoadConfig).contextLength, 1024)
    }))
})

describe("listing and info", () => {
  it.scopedLive("listLoaded, listDownloaded, system.listDownloadedModels, getModelInfo", () =>
    Effect.gen(function*() {
      const { client, sim } = yield* setup()
      yield* sim.preload(LLAMA)
      yield* sim.preload(NOMIC)
      const llms = yield* client.llm.listLoaded()
      assert.deepStrictEqual(llms.map((h) => h.identifier), [LLAMA])
      const embeddings = yield* client.embedding.listLoaded()
      assert.deepStrictEqual(embeddings.map((h) => h.identifier), [NOMIC])
      const downloaded = yield* client.system.listDownloadedModels()
      assert.includeMembers(downloaded.map((m) => m.modelKey), [LLAMA, QWEN, NOMIC])
      const downloadedLlms = yield* client.llm.listDownloaded()
      assert.isTrue(downloadedLlms.every((m) => m.type === "llm"))
      assert.notInclude(downloadedLlms.map((m) => m.modelKey), NOMIC)
      const onlyEmbeddings = yield* client.system.listDownloadedModels("embedding")
      assert.deepStrictEqual(onlyEmbeddings.map((m) => m.modelKey), [NOMIC])
      const info = yield* client.llm.getModelInfo(LLAMA)
      assert.strictEqual(info.identifier, LLAMA)
      assert.isAbove(info.contextLength, 0)
      const missing = yield* Effect.flip(client.llm.getModelInfo("nope"))
      assert.strictEqual(missing._tag, "ModelNotFoundError")
      const all = yield* Lms.listLoadedModels().pipe(Effect.provide(Layer.succeed(LMStudioClient, client)))
      assert.deepStrictEqual(all.map((h) => h.identifier), [LLAMA, NOMIC])
      const version = yield* client.system.version()
      assert.match(version.version, /^\d+\.\d+\.\d+$/)
    }))
})

describe("testing your own program with LMStudioSimulator.layerClient", () => {
  const TestLive = LMStudioSimulator.layerClient({ loadMs: 0 })
  it.layer(TestLive)("a shared simulator and client", (it) => {
    it.effect("the program under test sees the simulator through LMStudioClient", () =>
      Effect.gen(function*() {
        const model = yield* Lms.llm(LLAMA)
        assert.strictEqual(model.identifier, LLAMA)
        const sim = yield* LMStudioSimulator.LMStudioSimulator
        assert.deepStrictEqual((yield* sim.loaded).map((i) => i.identifier), [LLAMA])
        yield* model.unload
      }))
  })
})
