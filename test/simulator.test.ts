/**
 * The simulator seen through a raw `ws` client: wire shapes, envelope rules, fault injection and
 * the traffic log.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"
import { LMStudioSimulator } from "lmstudio-effect/testing"
import { type Frame, open, type RawClient, realSleep } from "./support/rawSocket.js"


const LLAMA = "llama-3.2-1b-instruct"
const QWEN = "qwen2.5-7b-instruct"
const NOMIC = "text-embedding-nomic-embed-text-v1.5"
const EMPTY_STACK = { layers: [{ layerName: "apiOverride", config: { fields: [] } }] }

const authPacket = (clientIdentifier = "guest:test", clientPasskey = "passkey") => ({
  authVersion: 1,
  clientIdentifier,
  clientPasskey
})

/** Opens `<url>/<namespace>` and authenticates as a guest (or with the given pair). */
const connect = (url: string, namespace: string, credentials?: { id: string; passkey: string }) =>
  Effect.gen(function*() {
    const client = yield* open(`${url}/${namespace}`)
    yield* client.send(authPacket(credentials?.id ?? `guest:${Math.random()}`, credentials?.passkey ?? "pk"))
    assert.deepStrictEqual(yield* client.next, { success: true })
    return client
  })

const call = (client: RawClient, callId: number, endpoint: string, parameter?: unknown) =>
  Effect.gen(function*() {
    yield* client.send({ type: "rpcCall", endpoint, callId, ...(parameter !== undefined ? { parameter } : {}) })
    return yield* client.next
  })

/** Opens a channel and collects its frames up to and including `channelClose`/`channelError`. */
const channel = (client: RawClient, channelId: number, endpoint: string, creationParameter: unknown) =>
  Effect.gen(function*() {
    yield* client.send({ type: "channelCreate", endpoint, channelId, creationParameter })
    return yield* untilEnd(client, channelId)
  })

const untilEnd = (client: RawClient, channelId: number) =>
  Effect.gen(function*() {
    const frames: Array<Frame> = []
    while (true) {
      const frame = yield* client.next
      frames.push(frame)
      if ((frame.type === "channelClose" || frame.type === "channelError") && frame.channelId === channelId) {
        return frames
      }
    }
  })

const packets = (frames: ReadonlyArray<Frame>) =>
  frames.filter((f) => f.type === "channelSend").map((f) => f.message)

const load = (modelKey: string, extra: Record<string, unknown> = {}) => ({
  modelKey,
  loadConfigStack: EMPTY_STACK,
  ...extra
})

/** Asserts nothing more arrives within a short real-time window. */
const assertQuiet = (client: RawClient, ms = 60) =>
  Effect.gen(function*() {
    yield* realSleep(ms)
    assert.strictEqual(yield* client.backlog, 0)
  })

const instanceKeys = [
  "type",
  "modelKey",
  "format",
  "displayName",
  "publisher",
  "path",
  "sizeBytes",
  "indexedModelIdentifier",
  "deviceIdentifier",
  "identifier",
  "instanceReference",
  "ttlMs",
  "lastUsedTime",
  "contextLength",
  "maxContextLength"
]

describe("LMStudioSimulator", () => {
  describe("HTTP and WebSocket upgrade", () => {
    it.scopedLive("serves the greeting, upgrades any prefix, refuses unknown namespaces", () =>
      Effect.gen(function*() {
        const sim = yield* LMStudioSimulator.make()
        assert.match(sim.url, /^ws:\/\/127\.0\.0\.1:\d+$/)
        assert.strictEqual(sim.httpUrl, `http://127.0.0.1:${sim.port}`)
        const greeting = yield* Effect.promise(() => fetch(`${sim.httpUrl}/lmstudio-greeting`))
        assert.strictEqual(greeting.status, 200)
        assert.deepStrictEqual(yield* Effect.promise(() => greeting.json()), { lmstudio: true })
        const other = yield* Effect.promise(() => fetch(`${sim.httpUrl}/v1/models`))
        assert.strictEqual(other.status, 404)
        const prefixed = yield* connect(`${sim.url}/behind/a/proxy`, "llm")
        assert.deepStrictEqual(yield* call(prefixed, 0, "listLoaded"), { type: "rpcResult", callId: 0, result: [] })
        const refused = yield* Effect.exit(open(`${sim.url}/nonsense`))
        assert.isTrue(Exit.isFailure(refused))
        assert.strictEqual(yield* sim.connectionCount, 1)
      }))

    it.scopedLive("closing the scope closes every socket and the port", () =>
      Effect.gen(function*() {
        const simScope = yield* Scope.make()
        const sim = yield* Scope.extend(LMStudioSimulator.make({ loadMs: 0 }), simScope)
        yield* sim.preload(LLAMA, { ttlMs: 60_000 }) // an idle timer is running
        const client = yield* connect(sim.url, "llm")
        yield* Scope.close(simScope, Exit.void)
        assert.strictEqual(yield* Deferred.await(client.closed), 1006)
        assert.isTrue(Exit.isFailure(yield* Effect.exit(open(`${sim.url}/llm`))))
      }))
  })

  describe("authentication (§1.4)", () => {
    it.scopedLive("ignores frames before a valid auth packet; first-come-first-served guest passkeys", () =>
      Effect.gen(function*() {
        const sim = yield* LMStudioSimulator.make()
        const client = yield* open(`${sim.url}/system`)
        yield* client.sendText("not json")
        yield* client.send({ hello: "world" })
        yield* assertQuiet(client)
        yield* client.send(authPacket("guest:alice", "one"))
        assert.deepStrictEqual(yield* client.next, { success: true })
        const impostor = yield* open(`${sim.url}/llm`)
        yield* impostor.send(authPacket("guest:alice", "two"))
        const refusal = yield* impostor.next
        assert.deepStrictEqual(refusal, {
          success: false,
          error: `Failed to validate client: Invalid client passkey for client "guest:alice"`
        })
        assert.strictEqual(yield* Deferred.await(impostor.closed), 1008)
        const same = yield* open(`${sim.url}/llm`)
        yield* same.send(authPacket("guest:alice", "one"))
        assert.deepStrictEqual(yield* same.next, { success: true })
      }))

    it.scopedLive("refuseAuth refuses and closes until cleared", () =>
      Effect.gen(function*() {
        const sim = yield* LMStudioSimulator.make()
        yield* sim.faults.refuseAuth("LM Studio is shutting down")
        const refused = yield* open(`${sim.url}/llm`)
        yield* refused.send(authPacket())
        assert.deepStrictEqual(yield* refused.next, { success: false, error: "LM Studio is shutting down" })
        yield* Deferred.await(refused.closed)
        // A refused socket answers nothing afterwards.
        yield* sim.faults.refuseAuth(null)
        yield* connect(sim.url, "llm")
      }))

    it.scopedLive("with an API token only its pair is accepted; revokeToken closes and refuses", () =>
      Effect.gen(function*() {
        const sim = yield* LMStudioSimulator.make({ apiToken: "sk-lm-AbCd1234:0123456789abcdefGHIJ" })
        const good = { id: "AbCd1234", passkey: "0123456789abcdefGHIJ" }
        const client = yield* connect(sim.url, "llm", good)
        for (const [id, passkey] of [["AbCd1234", "wrong"], ["guest:x", "0123456789abcdefGHIJ"]] as const) {
          const bad = yield* open(`${sim.url}/llm`)
          yield* bad.send(authPacket(id, passkey))
          const reply = yield* bad.next
          assert.strictEqual(reply.success, false)
          assert.include(reply.error, "Failed to validate client")
          assert.notInclude(reply.error, "0123456789abcdefGHIJ") // never echoes the passkey
        }
        yield* sim.faults.revokeToken
        assert.strictEqual(yield* Deferred.await(client.closed), 1008)
        const after = yield* open(`${sim.url}/llm`)
        yield* after.send(authPacket(good.id, good.passkey))
        const reply = yield* after.next
        assert.strictEqual(reply.success, false)
        assert.include(reply.error, "revoked")
      }))
  })

  describe("envelope (§2)", () => {
    it.scopedLive("unknown endpoints and invalid parameters only get a communicationWarning (at most 5)", () =>
      Effect.gen(function*() {
        const sim = yield* LMStudioSimulator.make()
        const client = yield* connect(sim.url, "llm")
        const kinds: Array<string> = []
        for (
          const frame of [
            { type: "rpcCall", endpoint: "noSuchRpc", callId: 0 },
            { type: "channelCreate", endpoint: "noSuchChannel", channelId: 1 },
            { type: "rpcCall", endpoint: "unloadModel", callId: 2, parameter: { identifier: 42 } },
            { type: "channelCreate", endpoint: "loadModel", channelId: 3, creationParameter: { modelKey: LLAMA } },
            { type: "channelSend", channelId: 99, message: { type: "cancel" } }
          ]
        ) {
          yield* client.send(frame)
          const warning = yield* client.next
          assert.strictEqual(warning.type, "communicationWarning")
          assert.isString(warning.warning)
          kinds.push(warning.kind)
        }
        assert.deepStrictEqual(kinds, [
          "rpcEndpointUnknown",
          "channelEndpointUnknown",
          "rpcParameterTypeError",
          "channelCreationParameterTypeError",
          "channelUnknown"
        ])
        yield* client.send({ type: "rpcCall", endpoint: "noSuchRpc", callId: 5 })
        yield* client.sendText("{ malformed")
        yield* assertQuiet(client) // sixth warning suppressed, and no rpcError/channelError ever
        assert.deepStrictEqual(yield* sim.loaded, [])
      }))

    it.scopedLive("keepAlive gets keepAliveAck; channelAck is ignored; ids are per connection", () =>
      Effect.gen(function*() {
        const sim = yield* LMStudioSimulator.make({ loadMs: 0 })
        const a = yield* connect(sim.url, "llm")
        const b = yield* connect(sim.url, "llm")
        yield* a.send({ type: "keepAlive" })
        assert.deepStrictEqual(yield* a.next, { type: "keepAliveAck" })
        yield* a.send({ type: "channelAck", channelId: 0, ackId: 1 })
        yield* assertQuiet(a)
        // Channel 1 and call 1 coexist (Python numbering); connection b reuses the same ids.
        yield* a.send({ type: "channelCreate", endpoint: "loadModel", channelId: 1, creationParameter: load(LLAMA) })
        yield* a.send({ type: "rpcCall", endpoint: "listLoaded", callId: 1 })
        const frames = yield* untilEnd(a, 1)
        assert.isTrue(frames.some((f) => f.type === "rpcResult" && f.callId === 1))
        assert.strictEqual(frames[frames.length - 1].type, "channelClose")
        const bFrames = yield* channel(b, 1, "loadModel", load(LLAMA))
        assert.strictEqual(packets(bFrames).at(-1).info.identifier, `${LLAMA}:2`)
        assert.strictEqual(yield* sim.connectionCount, 2)
      }))

    it.scopedLive("void and absent results omit `result`; not-found errors have the documented codes", () =>
      Effect.gen(function*() {
        const sim = yield* LMStudioSimulator.make()
        const info = yield* sim.preload(LLAMA)
        const client = yield* connect(sim.url, "llm")
        const query = (query: unknown, throwIfNotFound: boolean) => ({ specifier: { type: "query", query }, throwIfNotFound })
        assert.deepStrictEqual(yield* call(client, 0, "getModelInfo", query({ identifier: "nope" }, false)), {
          type: "rpcResult",
          callId: 0
        })
        const thrown = yield* call(client, 1, "getModelInfo", query({ identifier: "nope" }, true))
        assert.strictEqual(thrown.type, "rpcError")
        assert.strictEqual(thrown.error.displayData.code, "generic.noModelMatchingQuery")
        assert.deepStrictEqual(thrown.error.displayData.query, { identifier: "nope" })
        const byRef = yield* call(client, 2, "getModelInfo", {
          specifier: { type: "instanceReference", instanceReference: info.instanceReference },
          throwIfNotFound: true
        })
        assert.strictEqual(byRef.result.identifier, LLAMA)
        assert.deepStrictEqual(yield* call(client, 3, "unloadModel", { identifier: LLAMA }), {
          type: "rpcResult",
          callId: 3
        })
        const vanished = yield* call(client, 4, "getLoadConfig", {
          specifier: { type: "instanceReference", instanceReference: info.instanceReference }
        })
        assert.strictEqual(vanished.error.displayData.code, "generic.specificModelUnloaded")
      }))

    it.scopedLive("an unknown unload gets exactly the §8.6 error", () =>
      Effect.gen(function*() {
        const sim = yield* LMStudioSimulator.make()
        yield* sim.preload(LLAMA)
        yield* sim.preload(NOMIC) // other namespace: not listed
        const client = yield* connect(sim.url, "llm")
        assert.deepStrictEqual(yield* call(client, 7, "unloadModel", { identifier: "No such model" }), {
          type: "rpcError",
          callId: 7,
          error: {
            title: "No model found that fits the query",
            rootTitle: "No model found that fits the query",
            displayData: {
              code: "generic.noModelMatchingQuery",
              query: { identifier: "No such model" },
              loadedModelsSample: [LLAMA],
              totalLoadedModels: 1
            }
          }
        })
      }))
  })

  describe("loadModel (§4.2, §8.1, §8.2)", () => {
    it.scopedLive("resolved → monotonic progress → success → channelClose, with the full instance info", () =>
      Effect.gen(function*() {
        const sim = yield* LMStudioSimulator.make({ loadMs: 40, progressSteps: 4 })
        const client = yield* connect(sim.url, "llm")
        const frames = yield* channel(client, 0, "loadModel", load(QWEN, { ttlMs: 5000 }))
        const sent = packets(frames)
        assert.deepStrictEqual(sent.map((p) => p.type), ["resolved", "progress", "progress", "progress", "progress", "success"])
        assert.deepStrictEqual(sent.slice(1, 5).map((p) => p.progress), [0.25, 0.5, 0.75, 1])
        assert.strictEqual(sent[0].info.modelKey, QWEN)
        assert.isUndefined(sent[0].info.identifier)
        assert.deepStrictEqual(frames.at(-1), { type: "channelClose", channelId: 0 })
        const info = sent[5].info
        for (const key of instanceKeys) assert.property(info, key)
        assert.strictEqual(info.identifier, QWEN)
        assert.strictEqual(info.publisher, "lmstudio-community")
        assert.strictEqual(info.deviceIdentifier, null)
        assert.strictEqual(info.ttlMs, 5000)
        assert.strictEqual(info.lastUsedTime, null)
        assert.strictEqual(info.contextLength, 4096)
        assert.isFalse(info.vision)
        assert.isString(info.instanceReference)
        // Optional fields are never null (§2.9): only the required-nullable ones may be.
        for (const [key, value] of Object.entries(info)) {
          if (value === null) assert.include(["deviceIdentifier", "ttlMs", "lastUsedTime"], key)
        }
      }))

    it.scoped("explicit identifiers are unique across namespaces and loads in progress", () =>
      Effect.gen(function*() {
        const sim = yield* LMStudioSimulator.make({ loadMs: 1000, progressSteps: 2 })
        const llm = yield* connect(sim.url, "llm")
        const embedding = yield* connect(sim.url, "embedding")
        yield* llm.send({ type: "channelCreate", endpoint: "loadModel", channelId: 0, creationParameter: load(LLAMA, { identifier: "shared" }) })
        assert.strictEqual((yield* llm.next).message.type, "resolved") // reserved, loading (clock stopped)
        const clash = yield* channel(embedding, 0, "loadModel", load(NOMIC, { identifier: "shared" }))
        assert.deepStrictEqual(clash, [{
          type: "channelError",
          channelId: 0,
          error: { title: `Model with identifier "shared" already exists`, rootTitle: `Model with identifier "shared" already exists` }
        }])
        assert.deepStrictEqual(yield* sim.loaded, []) // the clash happened while the first was still loading
        yield* TestClock.adjust(1000)
        const done = yield* untilEnd(llm, 0)
        assert.strictEqual(packets(done).at(-1).info.identifier, "shared")
        assert.deepStrictEqual((yield* sim.loaded).map((i) => i.identifier), ["shared"])
      }))

    it.scopedLive("resolves keys, paths and case-insensitive path prefixes, nothing looser; reports ambiguity", () =>
      Effect.gen(function*() {
        const sim = yield* LMStudioSimulator.make({ loadMs: 0 })
        const client = yield* connect(sim.url, "llm")
        const resolve = (key: string, id: number) =>
          Effect.map(channel(client, id, "loadModel", load(key, { identifier: `i${id}` })), (f) => f[0].type === "channelError" ? f[0] : packets(f)[0])
        assert.strictEqual((yield* resolve("lmstudio-community/Qwen2.5-7B-Instruct-GGUF/Qwen2.5-7B-Instruct-Q4_K_M.gguf", 0)).info.modelKey, QWEN)
        assert.strictEqual((yield* resolve("lmstudio-community/Qwen2-VL-2B-Instruct-GGUF", 1)).info.modelKey, "qwen2-vl-2b-instruct")
        assert.strictEqual((yield* resolve("hugging-quants/llama-3.2-1b-instruct", 2)).info.modelKey, LLAMA)
        // Several models share the prefix: loadModel loads the first and lists them all (§8.1).
        const ambiguous = yield* resolve("lmstudio-community/qwen2", 3)
        assert.strictEqual(ambiguous.info.modelKey, QWEN)
        assert.deepStrictEqual(ambiguous.ambiguous, [QWEN, "qwen2-vl-2b-instruct"])
        assert.notProperty(yield* resolve(LLAMA, 4), "ambiguous")
        // Fragments, typos and other casings of a key match nothing.
        for (const [i, key] of ["QWEN", "qwen", "llama-3.2-1b-instruc", "LLAMA-3.2-1B-INSTRUCT", "llama"].entries()) {
          const refused = yield* resolve(key, 10 + i)
          assert.strictEqual(refused.type, "channelError", key)
          assert.strictEqual(refused.error.displayData.code, "generic.pathNotFound", key)
        }
      }))

    it.scopedLive("getOrLoad refuses a key matching several models, listing their model keys", () =>
      Effect.gen(function*() {
        const sim = yield* LMStudioSimulator.make({ loadMs: 0 })
        const client = yield* connect(sim.url, "llm")
        const [downloaded] = yield* channel(client, 0, "getOrLoad", { identifier: "lmstudio-community/qwen2", loadConfigStack: EMPTY_STACK })
        assert.strictEqual(downloaded.type, "channelError")
        assert.strictEqual(downloaded.error.title, `Model key "lmstudio-community/qwen2" is ambiguous`)
        assert.include(downloaded.error.suggestion, `${QWEN}, qwen2-vl-2b-instruct`)
        assert.deepStrictEqual(downloaded.error.displayData.availablePathsSample, [QWEN, "qwen2-vl-2b-instruct"])
        assert.deepStrictEqual(yield* sim.loaded, [])
        // The same among loaded instances of different models; instances of one model are fine.
        yield* sim.preload(QWEN)
        yield* sim.preload("qwen2-vl-2b-instruct")
        const [loaded] = yield* channel(client, 1, "getOrLoad", { identifier: "lmstudio-community/qwen2", loadConfigStack: EMPTY_STACK })
        assert.strictEqual(loaded.error.title, `Model key "lmstudio-community/qwen2" is ambiguous`)
        yield* sim.preload(LLAMA)
        yield* sim.preload(LLAMA)
        const same = yield* channel(client, 2, "getOrLoad", { identifier: "hugging-quants/llama-3.2-1b-instruct", loadConfigStack: EMPTY_STACK })
        assert.strictEqual(packets(same)[0].info.identifier, LLAMA)
      }))

    it.scopedLive("unknown key → generic.pathNotFound; embedding key on /llm → generic.domainMismatch", () =>
      Effect.gen(function*() {
        const sim = yield* LMStudioSimulator.make({ loadMs: 0 })
        const client = yield* connect(sim.url, "llm")
        const [missing] = yield* channel(client, 0, "loadModel", load("no-such-model"))
        assert.strictEqual(missing.type, "channelError")
        assert.deepStrictEqual(missing.error.displayData, {
          code: "generic.pathNotFound",
          path: "no-such-model",
          availablePathsSample: [LLAMA, QWEN, "qwen2-vl-2b-instruct", "deepseek-r1-distill-qwen-1.5b"], // the model keys of the namespace
          totalModels: 4
        })
        const [wrong] = yield* channel(client, 1, "getOrLoad", { identifier: NOMIC, loadConfigStack: EMPTY_STACK })
        assert.deepStrictEqual(wrong.error.displayData, {
          code: "generic.domainMismatch",
          path: NOMIC,
          actualDomain: "embedding",
          expectedDomain: "llm"
        })
        assert.deepStrictEqual(yield* sim.loaded, [])
      }))

    it.scoped("cancel ends the channel with an error and leaves nothing loaded", () =>
      Effect.gen(function*() {
        const sim = yield* LMStudioSimulator.make({ loadMs: 1000, progressSteps: 10 })
        const client = yield* connect(sim.url, "llm")
        yield* client.send({ type: "channelCreate", endpoint: "loadModel", channelId: 0, creationParameter: load(LLAMA, { identifier: "x" }) })
        assert.strictEqual((yield* client.next).message.type, "resolved")
        yield* realSleep(20) // let the load park on its first sleep
        yield* TestClock.adjust(100)
        assert.strictEqual((yield* client.next).message.type, "progress")
        yield* client.send({ type: "channelSend", channelId: 0, message: { type: "cancel" } })
        assert.deepStrictEqual(yield* client.next, {
          type: "channelError",
          channelId: 0,
          error: { title: "Model loading was cancelled", rootTitle: "Model loading was cancelled" }
        })
        yield* TestClock.adjust(1000) // the cancelled load does not resume
        yield* assertQuiet(client)
        assert.deepStrictEqual(yield* sim.loaded, [])
        assert.strictEqual((yield* sim.preload(LLAMA, { identifier: "x" })).identifier, "x") // reservation released
      }))

    it.scoped("progress is paced on Effect's clock", () =>
      Effect.gen(function*() {
        const sim = yield* LMStudioSimulator.make({ loadMs: 1000, progressSteps: 4 })
        const client = yield* connect(sim.url, "llm")
        yield* client.send({ type: "channelCreate", endpoint: "loadModel", channelId: 0, creationParameter: load(LLAMA) })
        assert.strictEqual((yield* client.next).message.type, "resolved")
        yield* assertQuiet(client)
        yield* TestClock.adjust(250)
        assert.deepStrictEqual((yield* client.next).message, { type: "progress", progress: 0.25 })
        yield* assertQuiet(client)
        yield* TestClock.adjust(750)
        const rest = yield* untilEnd(client, 0)
        assert.deepStrictEqual(packets(rest).map((p) => p.type), ["progress", "progress", "progress", "success"])
      }))
  })

  describe("getOrLoad (§4.3, §8.3, §8.4)", () => {
    it.scopedLive("alreadyLoaded by identifier, then by key/path", () =>
      Effect.gen(function*() {
        const sim = yield* LMStudioSimulator.make({ loadMs: 0 })
        yield* sim.preload(QWEN, { identifier: "custom" })
        const client = yield* connect(sim.url, "llm")
        const byId = packets(yield* channel(client, 0, "getOrLoad", { identifier: "custom", loadConfigStack: EMPTY_STACK }))
        const byPath = packets(yield* channel(client, 1, "getOrLoad", { identifier: "lmstudio-community/Qwen2.5-7B-Instruct-GGUF", loadConfigStack: EMPTY_STACK }))
        assert.deepStrictEqual(byId.map((p) => p.type), ["alreadyLoaded"])
        assert.deepStrictEqual(byPath.map((p) => [p.type, p.info.identifier]), [["alreadyLoaded", "custom"]])
        assert.lengthOf(yield* sim.loaded, 1)
      }))

    it.scoped("concurrent getOrLoads of one model load it once", () =>
      Effect.gen(function*() {
        const sim = yield* LMStudioSimulator.make({ loadMs: 1000, progressSteps: 2 })
        const a = yield* connect(sim.url, "llm")
        const b = yield* connect(sim.url, "llm")
        yield* a.send({ type: "channelCreate", endpoint: "getOrLoad", channelId: 0, creationParameter: { identifier: LLAMA, loadConfigStack: EMPTY_STACK } })
        assert.strictEqual((yield* a.next).message.type, "startLoading")
        yield* b.send({ type: "channelCreate", endpoint: "getOrLoad", channelId: 0, creationParameter: { identifier: LLAMA, loadConfigStack: EMPTY_STACK } })
        yield* assertQuiet(b) // b waits for a's load
        yield* TestClock.adjust(1000)
        const first = yield* untilEnd(a, 0)
        const second = yield* untilEnd(b, 0)
        assert.strictEqual(packets(first).at(-1).type, "loadSuccess")
        assert.deepStrictEqual(packets(second).map((p) => p.type), ["alreadyLoaded"])
        assert.strictEqual(packets(second)[0].info.instanceReference, packets(first).at(-1).info.instanceReference)
        assert.lengthOf(yield* sim.loaded, 1)
      }))

    it.scopedLive("a JIT load evicts other JIT instances across namespaces, unless auto-evict is off", () =>
      Effect.gen(function*() {
        const sim = yield* LMStudioSimulator.make({ loadMs: 0, progressSteps: 2 })
        yield* sim.preload(NOMIC, { jit: true })
        yield* sim.preload(QWEN) // not JIT: never evicted
        const client = yield* connect(sim.url, "llm")
        const sent = packets(yield* channel(client, 0, "getOrLoad", { identifier: LLAMA, loadConfigStack: EMPTY_STACK }))
        assert.deepStrictEqual(sent.map((p) => p.type), [
          "unloadingOtherJITModel",
          "startLoading",
          "loadProgress",
          "loadProgress",
          "loadSuccess"
        ])
        assert.strictEqual(sent[0].info.modelKey, NOMIC)
        assert.strictEqual(sent[0].info.type, "embedding")
        assert.deepStrictEqual([sent[1].identifier, sent[1].info.modelKey], [LLAMA, LLAMA])
        assert.strictEqual(sent[4].info.ttlMs, 3_600_000)
        assert.deepStrictEqual((yield* sim.loaded).map((i) => i.identifier), [QWEN, LLAMA])

        const keep = yield* LMStudioSimulator.make({ loadMs: 0, jitAutoEvict: false })
        yield* keep.preload(NOMIC, { jit: true })
        const other = yield* connect(keep.url, "llm")
        const kept = packets(yield* channel(other, 0, "getOrLoad", { identifier: LLAMA, loadTtlMs: 1000, loadConfigStack: EMPTY_STACK }))
        assert.notInclude(kept.map((p) => p.type), "unloadingOtherJITModel")
        assert.strictEqual(kept.at(-1).info.ttlMs, 1000)
        assert.lengthOf(yield* keep.loaded, 2)
      }))
  })

  describe("idle TTL (§8.5) on TestClock", () => {
    it.scoped("expires after ttlMs of idleness; use restarts the timer and sets lastUsedTime", () =>
      Effect.gen(function*() {
        const sim = yield* LMStudioSimulator.make({ loadMs: 0 })
        const info = yield* sim.preload(LLAMA, { ttlMs: 1000 })
        yield* sim.preload(QWEN, { jit: true }) // no TTL: never expires
        const client = yield* connect(sim.url, "llm")
        yield* TestClock.adjust(600)
        const tokenized = yield* call(client, 0, "tokenize", {
          specifier: { type: "instanceReference", instanceReference: info.instanceReference },
          inputString: "hello world"
        })
        assert.lengthOf(tokenized.result.tokens, 2)
        yield* realSleep(10) // let the restarted timer start sleeping
        const listed = yield* call(client, 1, "listLoaded")
        assert.strictEqual(listed.result[0].lastUsedTime, 600)
        yield* TestClock.adjust(999)
        assert.lengthOf(yield* sim.loaded, 2)
        yield* TestClock.adjust(1)
        assert.deepStrictEqual((yield* sim.loaded).map((i) => i.identifier), [QWEN])
        const after = yield* call(client, 2, "countTokens", {
          specifier: { type: "instanceReference", instanceReference: info.instanceReference },
          inputString: "x"
        })
        assert.strictEqual(after.error.displayData.code, "generic.noModelMatchingQuery")
      }))

    it.scoped("JIT instances expire after one hour by default", () =>
      Effect.gen(function*() {
        const sim = yield* LMStudioSimulator.make({ loadMs: 0 })
        const client = yield* connect(sim.url, "embedding")
        yield* channel(client, 0, "getOrLoad", { identifier: NOMIC, loadConfigStack: EMPTY_STACK })
        yield* realSleep(10)
        yield* TestClock.adjust("59 minutes")
        assert.lengthOf(yield* sim.loaded, 1)
        yield* TestClock.adjust("1 minute")
        assert.lengthOf(yield* sim.loaded, 0)
      }))
  })

  describe("load config and system (§4.4, §4.5, §8.8)", () => {
    it.scopedLive("getLoadConfig reports the applied config; system lists the catalog and version", () =>
      Effect.gen(function*() {
        const sim = yield* LMStudioSimulator.make({ loadMs: 0, version: { version: "0.3.99", build: 3 } })
        const client = yield* connect(sim.url, "llm")
        const stack = {
          layers: [{
            layerName: "apiOverride",
            config: {
              fields: [
                { key: "llm.load.contextLength", value: 8192 },
                { key: "llm.load.llama.flashAttention", value: true }
              ]
            }
          }]
        }
        const loaded = packets(yield* channel(client, 0, "loadModel", { modelKey: LLAMA, loadConfigStack: stack })).at(-1)
        assert.strictEqual(loaded.info.contextLength, 8192)
        const config = yield* call(client, 1, "getLoadConfig", { specifier: { type: "query", query: { identifier: LLAMA } } })
        const fields = Object.fromEntries(config.result.fields.map((f: Frame) => [f.key, f.value]))
        assert.strictEqual(fields["llm.load.contextLength"], 8192)
        assert.strictEqual(fields["llm.load.llama.flashAttention"], true)
        assert.deepStrictEqual(fields["load.gpuSplitConfig"], { strategy: "evenly", disabledGpus: [], priority: [], customRatio: [] })

        const system = yield* connect(sim.url, "system")
        const downloaded = yield* call(system, 0, "listDownloadedModels")
        assert.deepStrictEqual(downloaded.result.map((m: Frame) => [m.type, m.modelKey]), [
          ["llm", LLAMA],
          ["llm", QWEN],
          ["llm", "qwen2-vl-2b-instruct"],
          ["llm", "deepseek-r1-distill-qwen-1.5b"],
          ["embedding", NOMIC]
        ])
        for (const model of downloaded.result) {
          assert.property(model, "publisher")
          assert.property(model, "indexedModelIdentifier")
          assert.strictEqual(model.deviceIdentifier, null)
        }
        assert.deepStrictEqual(yield* call(system, 1, "version"), {
          type: "rpcResult",
          callId: 1,
          result: { version: "0.3.99", build: 3 }
        })
      }))

    it.scopedLive("a custom catalog is normalised to the HEAD superset", () =>
      Effect.gen(function*() {
        const sim = yield* LMStudioSimulator.make({
          loadMs: 0,
          catalog: [{
            type: "llm",
            modelKey: "tiny",
            format: "gguf",
            displayName: "Tiny",
            path: "acme/Tiny-GGUF/tiny.gguf",
            sizeBytes: 1,
            vision: false,
            trainedForToolUse: false,
            maxContextLength: 2048
          }]
        })
        const info = yield* sim.preload("tiny")
        assert.strictEqual(info.publisher, "acme")
        assert.strictEqual(info.indexedModelIdentifier, "acme/Tiny-GGUF/tiny.gguf")
        assert.strictEqual(info.deviceIdentifier, null)
        assert.strictEqual(info.contextLength, 2048)
      }))
  })

  describe("fault injection", () => {
    it.scopedLive("dropAfterProgress(n) terminates the socket after n progress packets, once", () =>
      Effect.gen(function*() {
        const sim = yield* LMStudioSimulator.make({ loadMs: 0, progressSteps: 10 })
        yield* sim.faults.dropAfterProgress(3)
        const client = yield* connect(sim.url, "llm")
        yield* client.send({ type: "channelCreate", endpoint: "loadModel", channelId: 0, creationParameter: load(LLAMA) })
        const code = yield* Deferred.await(client.closed)
        assert.strictEqual(code, 1006) // abrupt: no close frame
        const received: Array<Frame> = []
        while ((yield* client.backlog) > 0) received.push(yield* client.next)
        assert.deepStrictEqual(packets(received).map((p) => p.type), ["resolved", "progress", "progress", "progress"])
        yield* realSleep(20)
        assert.deepStrictEqual(yield* sim.loaded, [])
        const again = yield* connect(sim.url, "llm")
        const frames = yield* channel(again, 0, "loadModel", load(LLAMA))
        assert.strictEqual(packets(frames).at(-1).info.identifier, LLAMA) // one-shot, and the id was released
      }))

    it.scopedLive("sendRaw delivers arbitrary text to every connection of a namespace", () =>
      Effect.gen(function*() {
        const sim = yield* LMStudioSimulator.make()
        const a = yield* connect(sim.url, "llm")
        const b = yield* connect(sim.url, "llm")
        const other = yield* connect(sim.url, "system")
        yield* sim.faults.sendRaw("llm", "{ this is not json")
        assert.strictEqual(yield* a.next, "{ this is not json")
        assert.strictEqual(yield* b.next, "{ this is not json")
        yield* assertQuiet(other)
        const raw = (yield* sim.traffic).filter((t) => t.frame === "{ this is not json")
        assert.deepStrictEqual(raw.map((t) => [t.direction, t.namespace]), [["out", "llm"], ["out", "llm"]])
      }))

    it.scoped("delayReplies delays every reply until cleared (on Effect's clock)", () =>
      Effect.gen(function*() {
        const sim = yield* LMStudioSimulator.make()
        const client = yield* connect(sim.url, "llm")
        yield* sim.faults.delayReplies(5000)
        yield* client.send({ type: "rpcCall", endpoint: "listLoaded", callId: 0 })
        yield* client.send({ type: "keepAlive" })
        yield* assertQuiet(client)
        yield* TestClock.adjust(4999)
        yield* assertQuiet(client)
        yield* TestClock.adjust(1)
        const replies = [yield* client.next, yield* client.next]
        assert.sameDeepMembers(replies, [{ type: "rpcResult", callId: 0, result: [] }, { type: "keepAliveAck" }])
        yield* sim.faults.delayReplies(null)
        assert.deepStrictEqual(yield* call(client, 1, "listLoaded"), { type: "rpcResult", callId: 1, result: [] })
      }))

    it.scopedLive("failNextLoad ends the next load with the given error, once", () =>
      Effect.gen(function*() {
        const sim = yield* LMStudioSimulator.make({ loadMs: 0 })
        yield* sim.faults.failNextLoad({
          title: "Failed to load model",
          cause: "Out of memory",
          suggestion: "Try a smaller context length",
          displayData: { code: "generic.engineDoesNotSupportFeature", feature: "x", engineName: "llama.cpp", engineType: "llama", installedVersion: "1", supportedVersion: null }
        })
        const client = yield* connect(sim.url, "llm")
        const failed = yield* channel(client, 0, "getOrLoad", { identifier: LLAMA, loadConfigStack: EMPTY_STACK })
        assert.deepStrictEqual(packets(failed).map((p) => p.type), ["startLoading"])
        assert.deepStrictEqual(failed.at(-1).error, {
          title: "Failed to load model",
          rootTitle: "Failed to load model",
          cause: "Out of memory",
          suggestion: "Try a smaller context length",
          displayData: { code: "generic.engineDoesNotSupportFeature", feature: "x", engineName: "llama.cpp", engineType: "llama", installedVersion: "1", supportedVersion: null }
        })
        assert.deepStrictEqual(yield* sim.loaded, [])
        const ok = yield* channel(client, 1, "loadModel", load(LLAMA))
        assert.strictEqual(ok.at(-1).type, "channelClose")
      }))

    it.scopedLive("hang(endpoint) leaves calls to it unanswered; other endpoints still answer; hang(null) clears", () =>
      Effect.gen(function*() {
        const sim = yield* LMStudioSimulator.make({ loadMs: 0 })
        const client = yield* connect(sim.url, "llm")
        yield* sim.faults.hang("listLoaded")
        yield* client.send({ type: "rpcCall", endpoint: "listLoaded", callId: 0 })
        const info = yield* call(client, 1, "getModelInfo", { specifier: { type: "query", query: {} }, throwIfNotFound: false })
        assert.deepStrictEqual(info, { type: "rpcResult", callId: 1 })
        yield* assertQuiet(client)
        yield* sim.faults.hang("loadModel") // hangs accumulate: listLoaded still hangs
        yield* client.send({ type: "channelCreate", endpoint: "loadModel", channelId: 2, creationParameter: load(LLAMA) })
        yield* client.send({ type: "rpcCall", endpoint: "listLoaded", callId: 5 })
        yield* assertQuiet(client)
        yield* sim.faults.hang("keepAlive")
        yield* client.send({ type: "keepAlive" })
        yield* assertQuiet(client)
        yield* sim.faults.hang(null)
        assert.deepStrictEqual(yield* call(client, 3, "listLoaded"), { type: "rpcResult", callId: 3, result: [] })
        yield* client.send({ type: "keepAlive" })
        assert.deepStrictEqual(yield* client.next, { type: "keepAliveAck" })
      }))

    it.scopedLive("dropConnections terminates every socket; the server keeps listening", () =>
      Effect.gen(function*() {
        const sim = yield* LMStudioSimulator.make()
        const a = yield* connect(sim.url, "llm")
        const b = yield* connect(sim.url, "system")
        assert.strictEqual(yield* sim.connectionCount, 2)
        yield* sim.faults.dropConnections
        assert.strictEqual(yield* Deferred.await(a.closed), 1006)
        assert.strictEqual(yield* Deferred.await(b.closed), 1006)
        yield* realSleep(20)
        assert.strictEqual(yield* sim.connectionCount, 0)
        const c = yield* connect(sim.url, "llm")
        assert.strictEqual((yield* call(c, 0, "listLoaded")).type, "rpcResult")
      }))

    it.scopedLive("stop closes the server with a call pending; start listens again on the same port", () =>
      Effect.gen(function*() {
        const sim = yield* LMStudioSimulator.make()
        yield* sim.preload(LLAMA)
        const client = yield* connect(sim.url, "llm")
        yield* sim.faults.hang("getLoadConfig")
        yield* client.send({ type: "rpcCall", endpoint: "getLoadConfig", callId: 0, parameter: { specifier: { type: "query", query: {} } } })
        yield* realSleep(20)
        yield* sim.stop
        assert.strictEqual(yield* Deferred.await(client.closed), 1006)
        assert.isTrue(Exit.isFailure(yield* Effect.exit(open(`${sim.url}/llm`))))
        yield* sim.start
        yield* sim.faults.hang(null)
        const again = yield* connect(sim.url, "llm")
        const listed = yield* call(again, 0, "listLoaded")
        assert.deepStrictEqual(listed.result.map((i: Frame) => i.identifier), [LLAMA]) // state survives
      }))
  })

  describe("traffic log and test helpers", () => {
    it.scopedLive("records every frame in and out, per connection and namespace", () =>
      Effect.gen(function*() {
        const sim = yield* LMStudioSimulator.make()
        const client = yield* open(`${sim.url}/system`)
        yield* client.send(authPacket("guest:log", "pk"))
        yield* client.next
        yield* client.sendText("garbage")
        yield* client.next // the warning
        yield* call(client, 4, "version")
        const traffic = yield* sim.traffic
        assert.deepStrictEqual(traffic.map((t) => [t.direction, t.namespace, t.connection]), [
          ["in", "system", 1],
          ["out", "system", 1],
          ["in", "system", 1],
          ["out", "system", 1],
          ["in", "system", 1],
          ["out", "system", 1]
        ])
        assert.deepStrictEqual(traffic[0]?.frame, { ...authPacket("guest:log", "pk"), clientPasskey: "<redacted>" }, "the passkey never appears in the log")
        assert.deepStrictEqual(traffic[1]?.frame, { success: true })
        assert.strictEqual(traffic[2]?.frame, "garbage")
        assert.deepStrictEqual(traffic[4]?.frame, { type: "rpcCall", endpoint: "version", callId: 4 })
        yield* sim.clearTraffic
        assert.deepStrictEqual(yield* sim.traffic, [])
        yield* connect(sim.url, "llm")
        const later = yield* sim.traffic
        assert.lengthOf(later, 2) // the second connection's auth frame and its reply
        assert.isTrue(later.every((t) => t.connection === 2 && t.namespace === "llm"))
      }))

    it.live("layer provides the service for the layer's lifetime", () =>
      Effect.gen(function*() {
        const url = yield* Effect.gen(function*() {
          const sim = yield* LMStudioSimulator.LMStudioSimulator
          const client = yield* connect(sim.url, "system")
          assert.strictEqual((yield* call(client, 0, "version")).result.version, "0.3.31")
          return sim.url
        }).pipe(Effect.scoped, Effect.provide(LMStudioSimulator.layer({ loadMs: 0 })))
        assert.isTrue(Exit.isFailure(yield* Effect.exit(Effect.scoped(open(`${url}/llm`)))))
      }))

    it.scopedLive("preload, loaded and unloadAll", () =>
      Effect.gen(function*() {
        const sim = yield* LMStudioSimulator.make()
        const a = yield* sim.preload(LLAMA)
        const b = yield* sim.preload("hugging-quants/llama-3.2-1b-instruct")
        const e = yield* sim.preload(NOMIC, { config: [{ key: "embedding.load.contextLength", value: 512 }] })
        assert.deepStrictEqual([a.identifier, b.identifier, e.identifier], [LLAMA, `${LLAMA}:2`, NOMIC])
        assert.strictEqual(e.contextLength, 512)
        const taken = yield* Effect.flip(sim.preload(QWEN, { identifier: LLAMA }))
        assert.strictEqual(taken.reason, "IdentifierTaken")
        const unknown = yield* Effect.flip(sim.preload("nope"))
        assert.strictEqual(unknown.reason, "ModelNotFound")
        assert.lengthOf(yield* sim.loaded, 3)
        yield* sim.unloadAll
        assert.deepStrictEqual(yield* sim.loaded, [])
      }))
  })
})
