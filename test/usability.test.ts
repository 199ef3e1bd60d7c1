/**
 * What a new user runs into: asking the wrong namespace for a model, JIT eviction and the order of
 * load events, reading every client option from Config, turning a load stream into its handle,
 * and a console progress renderer.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Config from "effect/Config"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import { LMStudioClient, Lms, LoadEvent } from "../src/index.js"
import { LMStudioSimulator } from "../src/testing/index.js"
import { LLAMA, loadedIds, NOMIC, QWEN, setup } from "./support/harness.js"

describe("a model asked for in the wrong namespace", () => {
  it.scopedLive("an embedding model on client.llm: ModelNotFoundError pointing to client.embedding", () =>
    Effect.gen(function*() {
      const { client, sim } = yield* setup()
      const error = yield* Effect.flip(client.llm.model(NOMIC))
      assert.strictEqual(error._tag, "ModelNotFoundError")
      assert.include(error.message, `"${NOMIC}" is an embedding model, not an LLM`)
      assert.include(error.message, `client.embedding.model("${NOMIC}")`)
      assert.include(error.message, `Lms.embeddingModel("${NOMIC}")`)
      assert.deepStrictEqual(yield* sim.loaded, [])
    }))

  it.scopedLive("an LLM on client.embedding (loadNewInstance): pointing to client.llm", () =>
    Effect.gen(function*() {
      const { client, sim } = yield* setup()
      const error = yield* Effect.flip(client.embedding.loadNewInstance(LLAMA))
      assert.strictEqual(error._tag, "ModelNotFoundError")
      assert.include(error.message, `"${LLAMA}" is an LLM, not an embedding model`)
      assert.include(error.message, `client.llm.model("${LLAMA}")`)
      assert.deepStrictEqual(yield* sim.loaded, [])
    }))
})

const tags = <H, I>(events: ReadonlyArray<LoadEvent.LoadEvent<H, I>>) => events.map((event) => event._tag)

describe("JIT eviction and the order of load events", () => {
  it.scopedLive("get-or-load of another model evicts JIT instances of both domains first, then loads", () =>
    Effect.gen(function*() {
      const { client, sim } = yield* setup({ progressSteps: 3 })
      yield* client.embedding.model(NOMIC) // JIT
      const kept = yield* client.llm.loadNewInstance(QWEN) // not JIT: never evicted
      const events = yield* Stream.runCollect(client.llm.modelStream(LLAMA))
      assert.deepStrictEqual(tags([...events]), [
        "UnloadingOtherJitModel",
        "Resolved",
        "Progress",
        "Progress",
        "Progress",
        "Loaded"
      ])
      const [evicted] = [...events]
      if (evicted?._tag === "UnloadingOtherJitModel") assert.strictEqual(evicted.info.modelKey, NOMIC)
      assert.deepStrictEqual(yield* loadedIds(sim), [LLAMA, kept.identifier].sort())
      const gone = yield* Effect.flip(client.embedding.model())
      assert.strictEqual(gone._tag, "ModelNotFoundError")
    }))

  it.scopedLive("two models kept side by side: loadNewInstance instances are not JIT", () =>
    Effect.gen(function*() {
      const { client, sim } = yield* setup()
      const embedder = yield* client.embedding.loadNewInstanceScoped(NOMIC)
      const llm = yield* client.llm.model(LLAMA) // get-or-load: evicts only JIT instances
      assert.deepStrictEqual(yield* loadedIds(sim), [LLAMA, NOMIC])
      assert.strictEqual((yield* embedder.getInfo).identifier, NOMIC)
      assert.strictEqual(llm.identifier, LLAMA)
    }))

  it.scopedLive("loadNewInstanceStream: Resolved, Progress…, Loaded; already loaded: only Loaded", () =>
    Effect.gen(function*() {
      const { client } = yield* setup({ progressSteps: 2 })
      const fresh = yield* Stream.runCollect(client.llm.loadNewInstanceStream(LLAMA))
      assert.deepStrictEqual(tags([...fresh]), ["Resolved", "Progress", "Progress", "Loaded"])
      const again = yield* Stream.runCollect(client.llm.modelStream(LLAMA))
      assert.deepStrictEqual(tags([...again]), ["Loaded"])
      const [loaded] = [...again]
      assert.isTrue(loaded?._tag === "Loaded" && !loaded.loadedByThisCall)
    }))
})

describe("LoadEvent.toHandle", () => {
  it.scopedLive("runs a load stream for its handle, events still observable before it", () =>
    Effect.gen(function*() {
      const { client } = yield* setup()
      const seen: Array<string> = []
      const model = yield* client.llm.modelStream(LLAMA).pipe(
        Stream.tap((event) => Effect.sync(() => seen.push(event._tag))),
        LoadEvent.toHandle
      )
      assert.strictEqual(model.identifier, LLAMA)
      assert.strictEqual(seen.at(-1), "Loaded")
      assert.strictEqual((yield* model.getInfo).identifier, LLAMA, "the instance stayed loaded")
    }))

  it.scopedLive("a failing load fails it with the load's error", () =>
    Effect.gen(function*() {
      const { client } = yield* setup()
      const error = yield* Effect.flip(LoadEvent.toHandle(client.llm.loadNewInstanceStream("no-such-model")))
      assert.strictEqual(error._tag, "ModelNotFoundError")
    }))
})

describe("LoadEvent.consoleProgress", () => {
  it.scopedLive("in a pipe: one line per quarter, ending at 100%", () =>
    Effect.gen(function*() {
      const { client } = yield* setup({ progressSteps: 10 })
      const out: Array<string> = []
      yield* client.llm.model(LLAMA, { onProgress: LoadEvent.consoleProgress("llama", { tty: false, write: (t) => out.push(t) }) })
      assert.deepStrictEqual(out, ["llama 0%\n", "llama 25%\n", "llama 50%\n", "llama 75%\n", "llama 100%\n"])
    }))

  it.effect("on a terminal: one bar redrawn in place, a newline when done", () =>
    Effect.gen(function*() {
      let text = ""
      const render = LoadEvent.consoleProgress("qwen", { tty: true, write: (t) => (text += t) })
      yield* Effect.forEach([0.5, 1, 1], render)
      assert.strictEqual(text.split("\r").length, 3, "two draws: 50%, then 100% once")
      assert.isTrue(text.endsWith("100%\n"))
      assert.strictEqual(text.split("\n").length, 2, "one newline")
    }))
})

describe("LMStudioClient.layerConfig", () => {
  const provider = (url: string, entries: ReadonlyArray<readonly [string, string]>) =>
    Layer.setConfigProvider(ConfigProvider.fromMap(new Map([["LMSTUDIO_BASE_URL", url], ...entries])))

  it.scopedLive("every option can come from Config", () =>
    Effect.gen(function*() {
      const sim = yield* LMStudioSimulator.make({ loadMs: 0 })
      const layer = LMStudioClient.layerConfig({
        defaultTtl: Config.duration("MY_TTL"),
        keepAlive: Config.boolean("MY_KEEP_ALIVE"),
        openTimeout: Config.succeed(Duration.seconds(3))
      }).pipe(Layer.provide(provider(sim.url, [["MY_TTL", "20 minutes"], ["MY_KEEP_ALIVE", "true"]])))
      const model = yield* Lms.llm(LLAMA).pipe(Effect.provide(layer))
      const [loaded] = yield* sim.loaded
      assert.strictEqual(loaded?.identifier, model.identifier)
      assert.strictEqual(loaded?.ttlMs, 20 * 60_000)
    }))

  it.scopedLive("a missing or malformed value is a ConfigError naming the key, before any I/O", () =>
    Effect.gen(function*() {
      const sim = yield* LMStudioSimulator.make({ loadMs: 0 })
      const layer = LMStudioClient.layerConfig({ defaultTtl: Config.duration("MY_TTL") }).pipe(
        Layer.provide(provider(sim.url, [["MY_TTL", "soon"]]))
      )
      const error = yield* Effect.flip(Lms.listLoadedModels().pipe(Effect.provide(layer)))
      assert.notStrictEqual(error._tag, "InvalidArgumentError")
      assert.include(String(error), "MY_TTL")
      assert.strictEqual(yield* sim.connectionCount, 0)
    }))
})

describe("one export convention for . and ./testing", () => {
  it.scoped("LMStudioSimulator is its own tag with the module's functions, like LMStudioClient", () =>
    Effect.gen(function*() {
      const simulator = yield* LMStudioSimulator.make({ loadMs: 0 })
      const viaTag = yield* Effect.provideService(LMStudioSimulator, simulator)(LMStudioSimulator)
      const viaModuleSpelling = yield* Effect.provideService(LMStudioSimulator.LMStudioSimulator, simulator)(LMStudioSimulator)
      assert.strictEqual(viaTag, simulator)
      assert.strictEqual(viaModuleSpelling, simulator)
      assert.strictEqual(typeof LMStudioSimulator.layerClient, "function")
      assert.strictEqual(typeof LMStudioClient.layerConfig, "function")
    }))
})
