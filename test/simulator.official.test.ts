/**
 * Proof of fidelity: the OFFICIAL `@lmstudio/sdk@1.5.0` client, unchanged, against the simulator.
 * Every test also checks that the official client never complained about a frame it received
 * (it answers a frame failing its schemas with a `communicationWarning`, protocol §2.9).
 */
import { assert, describe, it } from "@effect/vitest"
import { LMStudioClient, type LMStudioClientConstructorOpts } from "@lmstudio/sdk"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"
import * as TestServices from "effect/TestServices"
import { LMStudioSimulator } from "lmstudio-effect/testing"

type Options = LMStudioSimulator.SimulatorOptions

const silent = { info() {}, warn() {}, error() {}, debug() {} }

const ANSI = new RegExp(String.raw`\u001b\[[0-9;]*m`, "g")
/** The error message without colours and box drawing, whitespace collapsed (the client pretty-prints). */
const plain = (error: unknown): string =>
  (error instanceof Error ? error.message : String(error)).replace(ANSI, "").replace(/[│┌┐└┘─]/g, " ")
    .replace(/\s+/g, " ")

/** A simulator plus an official client pointed at it, both closed with the test's scope. */
const setup = (options: Options = {}, clientOptions: Partial<LMStudioClientConstructorOpts> = {}) =>
  Effect.gen(function*() {
    const sim = yield* LMStudioSimulator.make({ loadMs: 20, ...options })
    const client = yield* Effect.acquireRelease(
      Effect.sync(() => new LMStudioClient({ baseUrl: sim.url, logger: silent, ...clientOptions })),
      (client) => Effect.promise(() => client[Symbol.asyncDispose]())
    )
    return { sim, client }
  })

const run = <A>(f: () => Promise<A>) => Effect.promise(f)
/** The error a promise rejects with (fails the test if it resolves). */
const rejection = (f: () => Promise<unknown>) =>
  Effect.tryPromise({ try: f, catch: (e) => e }).pipe(
    Effect.flatMap((value) => Effect.dieMessage(`expected a rejection, got ${JSON.stringify(value)}`)),
    Effect.catchAll((e) => Effect.succeed(plain(e)))
  )

/** Frames the official client sent back as complaints: there must be none. */
const assertClientHappy = (sim: LMStudioSimulator.LMStudioSimulator.Service) =>
  Effect.gen(function*() {
    const complaints = (yield* sim.traffic).filter((t) =>
      t.direction === "in" && (t.frame as { type?: unknown } | null)?.type === "communicationWarning"
    )
    assert.deepStrictEqual(complaints, [])
  })

interface Frame {
  readonly type?: string
  readonly message?: { readonly type?: string }
  readonly error?: { readonly title?: string }
}

/** A real-time pause, whatever clock the test runs on. */
const realSleep = (ms: number) => TestServices.provideLive(Effect.sleep(ms))

/** Polls the traffic log (in real time) until a frame satisfies `predicate`. */
const waitForFrame = (sim: LMStudioSimulator.LMStudioSimulator.Service, predicate: (frame: Frame) => boolean) =>
  Effect.gen(function*() {
    while (!(yield* sim.traffic).some((t) => typeof t.frame === "object" && t.frame !== null && predicate(t.frame))) {
      yield* realSleep(10)
    }
  })

const identifiers = (handles: ReadonlyArray<{ identifier: string }>) => handles.map((h) => h.identifier)

const LLAMA = "llama-3.2-1b-instruct"
const QWEN = "qwen2.5-7b-instruct"
const NOMIC = "text-embedding-nomic-embed-text-v1.5"
const R1 = "deepseek-r1-distill-qwen-1.5b"

describe("official @lmstudio/sdk 1.5.0 against the simulator", () => {
  it.scopedLive("llm.model() returns any loaded model, and fails when none is loaded", () =>
    Effect.gen(function*() {
      const { client, sim } = yield* setup()
      const none = yield* rejection(() => client.llm.model())
      assert.include(none, "No loaded model satisfies all requirements")
      yield* sim.preload(QWEN)
      yield* sim.preload(NOMIC)
      const model = yield* run(() => client.llm.model())
      assert.strictEqual(model.identifier, QWEN)
      assert.strictEqual(model.modelKey, QWEN)
      yield* assertClientHappy(sim)
    }))

  it.scopedLive("llm.model(key) loads a JIT instance with monotonic progress, then returns it", () =>
    Effect.gen(function*() {
      const { client, sim } = yield* setup({ loadMs: 50, progressSteps: 5 })
      const progress: Array<number> = []
      const model = yield* run(() => client.llm.model(LLAMA, { onProgress: (p) => progress.push(p) }))
      assert.strictEqual(model.identifier, LLAMA)
      assert.strictEqual(progress.length, 5)
      assert.deepStrictEqual(progress, [...progress].sort((a, b) => a - b))
      assert.isTrue(progress.every((p) => p > 0 && p <= 1))
      assert.strictEqual(progress[progress.length - 1], 1)
      const [loaded] = yield* sim.loaded
      assert.strictEqual(loaded?.ttlMs, 3_600_000) // JIT default TTL
      // Asking again (by key, or by a path-like key) returns the same instance without loading.
      const again = yield* run(() => client.llm.model(LLAMA))
      const byPath = yield* run(() => client.llm.model("hugging-quants/llama-3.2-1b-instruct"))
      assert.strictEqual(again.identifier, LLAMA)
      assert.strictEqual(byPath.identifier, LLAMA)
      assert.lengthOf(yield* sim.loaded, 1)
      yield* assertClientHappy(sim)
    }))

  it.scopedLive("llm.load(key) and llm.load(key, { identifier })", () =>
    Effect.gen(function*() {
      const { client, sim } = yield* setup()
      const progress: Array<number> = []
      const first = yield* run(() => client.llm.load(QWEN, { onProgress: (p) => progress.push(p) }))
      const named = yield* run(() => client.llm.load(QWEN, { identifier: "my-qwen" }))
      assert.strictEqual(first.identifier, QWEN)
      assert.strictEqual(named.identifier, "my-qwen")
      assert.strictEqual(named.modelKey, QWEN)
      assert.strictEqual(progress[progress.length - 1], 1)
      assert.deepStrictEqual(identifiers(yield* sim.loaded), [QWEN, "my-qwen"])
      // loadModel instances are not JIT and have no TTL unless asked.
      assert.isTrue((yield* sim.loaded).every((i) => i.ttlMs === null))
      yield* assertClientHappy(sim)
    }))

  it.scopedLive("a duplicate explicit identifier is refused and loads nothing", () =>
    Effect.gen(function*() {
      const { client, sim } = yield* setup()
      yield* run(() => client.llm.load(LLAMA, { identifier: "dup" }))
      const message = yield* rejection(() => client.llm.load(QWEN, { identifier: "dup" }))
      assert.include(message, "already exists")
      // Unique across namespaces too.
      const embeddingMessage = yield* rejection(() => client.embedding.load(NOMIC, { identifier: "dup" }))
      assert.include(embeddingMessage, "already exists")
      assert.deepStrictEqual(identifiers(yield* sim.loaded), ["dup"])
      yield* assertClientHappy(sim)
    }))

  it.scopedLive("default identifiers are the key, then key:2, key:3", () =>
    Effect.gen(function*() {
      const { client, sim } = yield* setup()
      const a = yield* run(() => client.llm.load(LLAMA))
      const b = yield* run(() => client.llm.load(LLAMA))
      const c = yield* run(() => client.llm.load("hugging-quants/llama-3.2-1b-instruct"))
      assert.deepStrictEqual([a.identifier, b.identifier, c.identifier], [LLAMA, `${LLAMA}:2`, `${LLAMA}:3`])
      yield* run(() => b.unload())
      const d = yield* run(() => client.llm.load(LLAMA))
      assert.strictEqual(d.identifier, `${LLAMA}:2`) // lowest free n
      yield* assertClientHappy(sim)
    }))

  it.scopedLive("listLoaded is scoped to the namespace", () =>
    Effect.gen(function*() {
      const { client, sim } = yield* setup()
      yield* run(() => client.llm.load(LLAMA))
      yield* run(() => client.llm.load(QWEN, { identifier: "second" }))
      yield* run(() => client.embedding.load(NOMIC))
      assert.deepStrictEqual(identifiers(yield* run(() => client.llm.listLoaded())), [LLAMA, "second"])
      assert.deepStrictEqual(identifiers(yield* run(() => client.embedding.listLoaded())), [NOMIC])
      yield* assertClientHappy(sim)
    }))

  it.scopedLive("handle.unload() and llm.unload(identifier)", () =>
    Effect.gen(function*() {
      const { client, sim } = yield* setup()
      const a = yield* run(() => client.llm.load(LLAMA))
      yield* run(() => client.llm.load(QWEN, { identifier: "second-qwen" }))
      yield* run(() => a.unload())
      assert.deepStrictEqual(identifiers(yield* sim.loaded), ["second-qwen"])
      yield* run(() => client.llm.unload("second-qwen"))
      assert.deepStrictEqual(yield* sim.loaded, [])
      assert.deepStrictEqual(yield* run(() => client.llm.listLoaded()), [])
      yield* assertClientHappy(sim)
    }))

  it.scopedLive("unloading an unknown identifier fails with the model-not-found error", () =>
    Effect.gen(function*() {
      const { client, sim } = yield* setup()
      yield* sim.preload(LLAMA)
      const message = yield* rejection(() => client.llm.unload("No such model"))
      assert.include(message, "No loaded model satisfies all requirements")
      assert.include(message, LLAMA) // listed among the loaded models
      assert.include(message, `The identifier must be exactly "No such model"`)
      yield* assertClientHappy(sim)
    }))

  it.scoped("idle TTL unloads an instance; use restarts the timer (TestClock)", () =>
    Effect.gen(function*() {
      const { client, sim } = yield* setup({ loadMs: 0 })
      const model = yield* run(() => client.llm.load(LLAMA, { ttl: 60 }))
      yield* run(() => client.llm.load(QWEN)) // no TTL: stays
      assert.strictEqual((yield* sim.loaded)[0]?.ttlMs, 60_000)
      yield* TestClock.adjust("59 seconds")
      yield* run(() => model.tokenize("hello world")) // use: restarts the idle timer
      yield* TestClock.adjust("59 seconds")
      assert.deepStrictEqual(identifiers(yield* run(() => client.llm.listLoaded())), [LLAMA, QWEN])
      yield* TestClock.adjust("2 seconds")
      assert.deepStrictEqual(identifiers(yield* run(() => client.llm.listLoaded())), [QWEN])
      const gone = yield* rejection(() => model.getModelInfo())
      assert.include(gone, "already been unloaded")
      yield* assertClientHappy(sim)
    }))

  it.scopedLive("getOrLoad of an LLM evicts a JIT embedding model, never a loadModel instance", () =>
    Effect.gen(function*() {
      const { client, sim } = yield* setup()
      yield* run(() => client.embedding.model(NOMIC))
      yield* run(() => client.llm.load(QWEN)) // not JIT
      yield* sim.clearTraffic
      yield* run(() => client.llm.model(LLAMA))
      assert.deepStrictEqual(identifiers(yield* run(() => client.embedding.listLoaded())), [])
      assert.deepStrictEqual(identifiers(yield* run(() => client.llm.listLoaded())), [QWEN, LLAMA])
      const evictions = (yield* sim.traffic).flatMap((t) => {
        const frame = t.frame as { type?: string; message?: { type?: string; info?: { type?: string } } }
        return t.direction === "out" && frame.message?.type === "unloadingOtherJITModel" ? [frame.message] : []
      })
      assert.lengthOf(evictions, 1)
      assert.strictEqual(evictions[0]?.info?.type, "embedding")
      assert.isUndefined(yield* run(() => client.embedding.createDynamicHandle(NOMIC).getModelInfo()))
      yield* assertClientHappy(sim)
    }))

  it.scopedLive("getModelInfo through specific and dynamic handles", () =>
    Effect.gen(function*() {
      const { client, sim } = yield* setup()
      const model = yield* run(() => client.llm.load("qwen2-vl-2b-instruct", { identifier: "vision" }))
      const info = yield* run(() => model.getModelInfo())
      assert.strictEqual(info.identifier, "vision")
      assert.strictEqual(info.modelKey, "qwen2-vl-2b-instruct")
      assert.isTrue(info.vision)
      assert.strictEqual(info.contextLength, 4096)
      const dynamic = yield* run(() => client.llm.createDynamicHandle("vision").getModelInfo())
      assert.strictEqual(dynamic?.instanceReference, info.instanceReference)
      const byPath = yield* run(() =>
        client.llm.createDynamicHandle({ path: "lmstudio-community/Qwen2-VL-2B-Instruct-GGUF" }).getModelInfo()
      )
      assert.strictEqual(byPath?.identifier, "vision")
      const missing = yield* run(() => client.llm.createDynamicHandle("nope").getModelInfo())
      assert.isUndefined(missing)
      yield* assertClientHappy(sim)
    }))

  it.scopedLive("getLoadConfig: the requested context length round-trips", () =>
    Effect.gen(function*() {
      const { client, sim } = yield* setup()
      const custom = yield* run(() => client.llm.load(LLAMA, { config: { contextLength: 8192 } }))
      const plainLoad = yield* run(() => client.llm.load(QWEN))
      assert.strictEqual(yield* run(() => custom.getContextLength()), 8192)
      assert.strictEqual(yield* run(() => plainLoad.getContextLength()), 4096)
      assert.strictEqual((yield* run(() => custom.getModelInfo())).contextLength, 8192)
      yield* assertClientHappy(sim)
    }))

  it.scopedLive("system.listDownloadedModels()", () =>
    Effect.gen(function*() {
      const { client, sim } = yield* setup()
      const all = yield* run(() => client.system.listDownloadedModels())
      const llms = yield* run(() => client.system.listDownloadedModels("llm"))
      const embeddings = yield* run(() => client.system.listDownloadedModels("embedding"))
      assert.deepStrictEqual(all.map((m) => m.modelKey), [LLAMA, QWEN, "qwen2-vl-2b-instruct", R1, NOMIC])
      assert.deepStrictEqual(llms.map((m) => m.modelKey), [LLAMA, QWEN, "qwen2-vl-2b-instruct", R1])
      assert.deepStrictEqual(embeddings.map((m) => m.modelKey), [NOMIC])
      assert.strictEqual(all[0]?.path, "hugging-quants/Llama-3.2-1B-Instruct-Q8_0-GGUF/llama-3.2-1b-instruct-q8_0.gguf")
      yield* assertClientHappy(sim)
    }))

  it.scopedLive("the same for embedding models", () =>
    Effect.gen(function*() {
      const { client, sim } = yield* setup()
      const progress: Array<number> = []
      const jit = yield* run(() => client.embedding.model("nomic-ai/nomic-embed-text-v1.5", { onProgress: (p) => progress.push(p) }))
      assert.strictEqual(progress[progress.length - 1], 1)
      assert.strictEqual(jit.identifier, "nomic-ai/nomic-embed-text-v1.5") // JIT identifier = requested string
      const loaded = yield* run(() => client.embedding.load(NOMIC, { config: { contextLength: 1024 } }))
      const second = yield* run(() => client.embedding.load(NOMIC))
      assert.strictEqual(loaded.identifier, NOMIC)
      assert.strictEqual(second.identifier, `${NOMIC}:2`)
      assert.strictEqual(yield* run(() => loaded.getContextLength()), 1024)
      assert.strictEqual(yield* run(() => second.getContextLength()), 2048) // min(4096, max 2048)
      const any = yield* run(() => client.embedding.model())
      assert.strictEqual(any.identifier, jit.identifier)
      const { embedding } = yield* run(() => loaded.embed("hello"))
      assert.lengthOf(embedding, 768)
      assert.include(yield* rejection(() => client.embedding.load(NOMIC, { identifier: NOMIC })), "already exists")
      yield* run(() => loaded.unload())
      yield* run(() => client.embedding.unload(`${NOMIC}:2`))
      assert.deepStrictEqual(identifiers(yield* run(() => client.embedding.listLoaded())), [jit.identifier])
      assert.include(yield* rejection(() => client.embedding.unload("nope")), "No loaded model satisfies")
      assert.deepStrictEqual(identifiers(yield* run(() => client.llm.listLoaded())), [])
      yield* assertClientHappy(sim)
    }))

  it.scopedLive("unknown keys and wrong domains fail with the errors the client recognises", () =>
    Effect.gen(function*() {
      const { client, sim } = yield* setup()
      assert.include(yield* rejection(() => client.llm.load("no-such-model")), `Cannot find a model with path "no-such-model"`)
      assert.include(yield* rejection(() => client.llm.model("no-such-model")), "Cannot find a model with path")
      assert.include(yield* rejection(() => client.llm.load(NOMIC)), "Model has wrong domain")
      assert.deepStrictEqual(yield* sim.loaded, [])
      yield* assertClientHappy(sim)
    }))

  it.scoped("aborting a load sends cancel and leaves nothing loaded", () =>
    Effect.gen(function*() {
      const { client, sim } = yield* setup({ loadMs: 1000, progressSteps: 10 })
      const controller = new AbortController()
      const loading = yield* Effect.fork(rejection(() =>
        client.llm.load(LLAMA, { signal: controller.signal, onProgress: () => controller.abort(new Error("stop!")) })
      ))
      yield* waitForFrame(sim, (f) => f.type === "channelSend" && f.message?.type === "resolved")
      yield* realSleep(20) // the load is now parked on its first (TestClock) sleep
      yield* TestClock.adjust(100) // first progress → the client aborts and sends cancel
      assert.include(yield* Fiber.join(loading), "stop!")
      yield* waitForFrame(sim, (f) => f.type === "channelError" && f.error?.title === "Model loading was cancelled")
      assert.isTrue((yield* sim.traffic).some((t) =>
        t.direction === "in" && (t.frame as Frame).type === "channelSend" && (t.frame as Frame).message?.type === "cancel"
      ))
      yield* TestClock.adjust(1000)
      assert.deepStrictEqual(yield* sim.loaded, [])
      const again = yield* sim.preload(LLAMA)
      assert.strictEqual(again.identifier, LLAMA) // the identifier reservation was released
      yield* assertClientHappy(sim)
    }))

  describe("API token", () => {
    const token = "sk-lm-AbCd1234:0123456789abcdefGHIJ"

    it.scopedLive("the token's identifier/passkey pair works", () =>
      Effect.gen(function*() {
        const { client, sim } = yield* setup({ apiToken: token }, {
          clientIdentifier: "AbCd1234",
          clientPasskey: "0123456789abcdefGHIJ"
        })
        const model = yield* run(() => client.llm.load(LLAMA))
        assert.strictEqual(model.identifier, LLAMA)
        assert.lengthOf(yield* run(() => client.system.listDownloadedModels()), 5)
        yield* assertClientHappy(sim)
      }))

    it.scopedLive("a wrong passkey or random guest credentials are refused", () =>
      Effect.gen(function*() {
        const sim = yield* LMStudioSimulator.make({ loadMs: 0, apiToken: token })
        const wrong = new LMStudioClient({
          baseUrl: sim.url,
          logger: silent,
          clientIdentifier: "AbCd1234",
          clientPasskey: "0123456789abcdefXXXX"
        })
        const guest = new LMStudioClient({ baseUrl: sim.url, logger: silent })
        const wrongMessage = yield* rejection(() => wrong.llm.listLoaded())
        const guestMessage = yield* rejection(() => guest.system.listDownloadedModels())
        assert.include(wrongMessage, "Failed to authenticate")
        assert.include(wrongMessage, "Invalid client passkey")
        assert.include(guestMessage, "Failed to authenticate")
        // Refused sockets never got past authentication: no protocol frame was answered.
        const answered = (yield* sim.traffic).filter((t) => t.direction === "out" && (t.frame as { success?: boolean }).success !== false)
        assert.deepStrictEqual(answered, [])
        assert.deepStrictEqual(yield* sim.loaded, [])
      }))
  })
})
