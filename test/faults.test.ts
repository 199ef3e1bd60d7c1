/**
 * Faults: nothing hangs, nothing leaks, nothing is lost. Each test injects a fault through the
 * simulator (or a deliberately broken server) and bounds every wait well below any default.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { spawn } from "node:child_process"
import { LMStudioClient } from "../src/index.js"
import { LMStudioSimulator } from "../src/testing/index.js"
import { LLAMA, QWEN, settle, setup } from "./support/harness.js"
import { acceptAll, listen } from "./support/scriptedServer.js"

const TOKEN = "sk-lm-AbCd1234:0123456789abcdefGHIJ"

/** Fails the test if `effect` takes longer than `limit` (so a hang is a failure, not a timeout). */
const within = (limit: Duration.DurationInput) => <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.timeoutFail(effect, { duration: limit, onTimeout: () => new Error(`did not finish within ${Duration.format(Duration.decode(limit))}`) })

const connectionError = <A, E extends { _tag: string }>(exit: Exit.Exit<A, E>) =>
  Exit.isFailure(exit) && JSON.stringify(exit.cause).includes("ConnectionError")

describe("the server dies", () => {
  it.scopedLive("mid-load: the load fails promptly with a ConnectionError; the next call reconnects", () =>
    Effect.gen(function*() {
      const { client, sim } = yield* setup({ loadMs: 200, progressSteps: 10 })
      yield* sim.faults.dropAfterProgress(2)
      const exit = yield* Effect.exit(client.llm.loadNewInstance(LLAMA)).pipe(within("1 second"))
      assert.isTrue(connectionError(exit))
      yield* settle(sim, [])
      const model = yield* client.llm.loadNewInstance(QWEN).pipe(within("2 seconds"))
      assert.strictEqual(model.identifier, QWEN)
    }))

  it.scopedLive("mid-RPC: every pending call fails at once", () =>
    Effect.gen(function*() {
      const { client, sim } = yield* setup()
      yield* client.llm.listLoaded()
      yield* sim.faults.hang("listLoaded")
      const pending = yield* Effect.forEach(Array.from({ length: 20 }), () => Effect.fork(client.llm.listLoaded()))
      yield* Effect.sleep("30 millis")
      yield* sim.faults.dropConnections
      const exits = yield* Effect.forEach(pending, Fiber.await).pipe(within("1 second"))
      assert.isTrue(exits.every(connectionError))
      yield* sim.faults.hang(null)
      assert.deepStrictEqual(yield* client.llm.listLoaded().pipe(within("2 seconds")), [])
    }))

  it.scopedLive("mid-stream: the stream fails with a ConnectionError after the events it delivered", () =>
    Effect.gen(function*() {
      const { client, sim } = yield* setup({ loadMs: 200, progressSteps: 10 })
      yield* sim.faults.dropAfterProgress(3)
      const seen: Array<string> = []
      const exit = yield* client.llm.modelStream(LLAMA).pipe(
        Stream.runForEach((event) => Effect.sync(() => seen.push(event._tag))),
        Effect.exit,
        within("1 second")
      )
      assert.isTrue(connectionError(exit))
      assert.strictEqual(seen[0], "Resolved")
      assert.isAtLeast(seen.filter((t) => t === "Progress").length, 1)
      assert.notInclude(seen, "Loaded")
    }))

  it.scopedLive("while down and back up: calls fail fast while it is down, then work again", () =>
    Effect.gen(function*() {
      const { client, sim } = yield* setup()
      yield* client.llm.listLoaded()
      yield* sim.stop
      const down = yield* Effect.exit(client.llm.listLoaded()).pipe(within("2 seconds"))
      assert.isTrue(connectionError(down))
      yield* sim.start
      assert.deepStrictEqual(yield* client.llm.listLoaded().pipe(within("2 seconds")), [])
    }))

  it.scopedLive("scoped finalizers still run when the connection drops under a scoped model", () =>
    Effect.gen(function*() {
      const { client, sim } = yield* setup()
      const exit = yield* Effect.scoped(Effect.gen(function*() {
        yield* client.llm.loadNewInstanceScoped(LLAMA)
        yield* sim.faults.dropConnections
        return yield* Effect.fail("the program failed after the drop")
      })).pipe(Effect.exit, within("2 seconds"))
      assert.isTrue(Exit.isFailure(exit))
      // The finalizer reconnected and unloaded the instance.
      yield* settle(sim, [])
    }))
})

describe("malformed frames", () => {
  it.scopedLive("garbage from the simulator disturbs no call in flight", () =>
    Effect.gen(function*() {
      const { client, sim } = yield* setup({ loadMs: 100 })
      const started = yield* Deferred.make<void>()
      const load = yield* Effect.fork(client.llm.loadNewInstance(LLAMA, { onProgress: () => Deferred.succeed(started, undefined) }))
      yield* Deferred.await(started)
      for (const frame of ["{not json", "[]", "42", JSON.stringify({ type: "mystery" }), JSON.stringify({ type: "rpcResult", callId: 99_999, result: 1 }), JSON.stringify({ type: "channelSend", channelId: 99_999, message: {} })]) {
        yield* sim.faults.sendRaw("llm", frame)
      }
      const model = yield* Fiber.join(load).pipe(within("2 seconds"))
      assert.strictEqual(model.identifier, LLAMA)
      assert.deepStrictEqual((yield* client.llm.listLoaded()).map((h) => h.identifier), [LLAMA])
    }))

  it.scopedLive("a result of the wrong shape fails only its own call, with a ProtocolError", () =>
    Effect.gen(function*() {
      const server = yield* listen(acceptAll((peer, frame) => {
        const f = frame as { type?: string; callId: number; endpoint?: string }
        if (f.type !== "rpcCall") return
        if (f.endpoint === "listLoaded") peer.send({ type: "rpcResult", callId: f.callId, result: [{ identifier: 1 }] })
        if (f.endpoint === "version") peer.send({ type: "rpcResult", callId: f.callId, result: { version: "0.3.31", build: 7 } })
      }))
      const client = yield* LMStudioClient.make({ baseUrl: server.url })
      const error = yield* Effect.flip(client.llm.listLoaded())
      assert.strictEqual(error._tag, "ProtocolError")
      assert.include(error.message, "listLoaded")
      assert.strictEqual((yield* client.system.version()).build, 7)
    }))
})

describe("authentication faults", () => {
  it.scopedLive("refused authentication is an AuthenticationError carrying the server's reason", () =>
    Effect.gen(function*() {
      const { client, sim } = yield* setup()
      yield* sim.faults.refuseAuth("Server is in maintenance")
      const error = yield* Effect.flip(client.llm.listLoaded()).pipe(within("2 seconds"))
      assert.strictEqual(error._tag, "AuthenticationError")
      assert.include(error.message, "Server is in maintenance")
      yield* sim.faults.refuseAuth(null)
      assert.deepStrictEqual(yield* client.llm.listLoaded(), [])
    }))

  it.scopedLive("a token revoked while connected: pending calls fail, the next one is refused", () =>
    Effect.gen(function*() {
      const sim = yield* LMStudioSimulator.make({ loadMs: 0, apiToken: TOKEN })
      const client = yield* LMStudioClient.make({ baseUrl: sim.url, apiToken: TOKEN })
      yield* client.llm.listLoaded()
      yield* sim.faults.hang("listLoaded")
      const pending = yield* Effect.fork(client.llm.listLoaded())
      yield* Effect.sleep("20 millis")
      yield* sim.faults.revokeToken
      assert.isTrue(connectionError(yield* Fiber.await(pending).pipe(within("1 second"))))
      const error = yield* Effect.flip(client.llm.listLoaded()).pipe(within("2 seconds"))
      assert.strictEqual(error._tag, "AuthenticationError")
      assert.notInclude(error.message, "0123456789abcdefGHIJ")
    }))
})

describe("a peer that stops answering", () => {
  it.scopedLive("keep-alive detects it within the configured timeout", () =>
    Effect.gen(function*() {
      const { client, sim } = yield* setup({}, { keepAlive: { interval: "50 millis", timeout: "100 millis" } })
      yield* client.llm.listLoaded()
      yield* sim.faults.hang("keepAlive")
      yield* sim.faults.hang("listLoaded")
      const start = Date.now()
      const error = yield* Effect.flip(client.llm.listLoaded()).pipe(within("3 seconds"))
      assert.strictEqual(error._tag, "ConnectionError")
      if (error._tag === "ConnectionError") assert.strictEqual(error.reason, "KeepAliveTimeout")
      // interval + timeout is 150 ms; allow for a loaded CI machine.
      assert.isBelow(Date.now() - start, 1500)
    }))
})

describe("closing the client with work in flight", () => {
  it.scopedLive("50 scoped loads and 100 RPCs in flight: all cancelled or unloaded, bounded time", () =>
    Effect.gen(function*() {
      const sim = yield* LMStudioSimulator.make({ loadMs: 300, progressSteps: 10 })
      const clientScope = yield* Scope.make()
      const client = yield* LMStudioClient.make({ baseUrl: sim.url }).pipe(Scope.extend(clientScope))
      yield* sim.faults.hang("listDownloadedModels")
      const halfLoaded = yield* Deferred.make<void>()
      let loadedCount = 0
      // 25 that finish loading and then hold their instance, 25 still loading when the client closes.
      const holders = yield* Effect.forEach(Array.from({ length: 25 }, (_, i) => i), (i) =>
        Effect.scoped(Effect.gen(function*() {
          yield* client.llm.loadNewInstanceScoped(i % 2 === 0 ? LLAMA : QWEN)
          if (++loadedCount === 25) yield* Deferred.succeed(halfLoaded, undefined)
          return yield* Effect.never
        })).pipe(Effect.fork))
      yield* Deferred.await(halfLoaded).pipe(within("5 seconds"))
      const loading = yield* Effect.forEach(Array.from({ length: 25 }), () =>
        Effect.fork(Effect.scoped(client.llm.loadNewInstanceScoped(LLAMA))))
      const rpcs = yield* Effect.forEach(Array.from({ length: 100 }), () => Effect.fork(client.system.listDownloadedModels()))
      yield* Effect.sleep("50 millis")
      assert.strictEqual((yield* sim.loaded).length, 25)

      yield* Scope.close(clientScope, Exit.void).pipe(within("3 seconds"))
      const loadExits = yield* Effect.forEach(loading, Fiber.await).pipe(within("1 second"))
      const rpcExits = yield* Effect.forEach(rpcs, Fiber.await).pipe(within("1 second"))
      assert.isTrue(loadExits.every(Exit.isFailure) && rpcExits.every(Exit.isFailure), "every pending operation failed")
      yield* settle(sim, [])
      yield* Effect.forEach(holders, Fiber.interrupt)
    }))

  it.live("a child Node process with scoped loads in flight exits by itself when its scope closes", () =>
    Effect.gen(function*() {
      const program = `
        import { Effect } from "effect"
        import { LMStudioClient } from "lmstudio-effect"
        import { LMStudioSimulator } from "lmstudio-effect/testing"
        const main = Effect.gen(function*() {
          const sim = yield* LMStudioSimulator.make({ loadMs: 1000 })
          const client = yield* LMStudioClient.make({ baseUrl: sim.url, keepAlive: true })
          yield* client.llm.loadNewInstanceScoped("llama-3.2-1b-instruct")
          for (let i = 0; i < 10; i++) yield* Effect.fork(client.llm.loadNewInstanceScoped("qwen2.5-7b-instruct"))
          yield* Effect.forEach(Array.from({ length: 50 }), () => Effect.fork(client.llm.listLoaded()))
          yield* Effect.sleep("100 millis")
          console.log("closing")
        })
        Effect.runPromise(Effect.scoped(main)).then(() => console.log("closed"))
      `
      const result = yield* Effect.async<{ code: number | null; out: string; ms: number }>((resume) => {
        const start = Date.now()
        const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", program], {
          cwd: process.cwd(),
          stdio: ["ignore", "pipe", "pipe"]
        })
        let out = ""
        child.stdout.on("data", (d) => (out += d))
        child.stderr.on("data", (d) => (out += d))
        const killer = setTimeout(() => child.kill("SIGKILL"), 15_000)
        child.on("exit", (code) => {
          clearTimeout(killer)
          resume(Effect.succeed({ code, out, ms: Date.now() - start }))
        })
      })
      assert.strictEqual(result.code, 0, result.out)
      assert.include(result.out, "closed")
    }), 20_000)
})

describe("load", () => {
  it.scopedLive("1,000 concurrent RPCs and 100 concurrent loads: every caller gets its own answer", () =>
    Effect.gen(function*() {
      const { client, sim } = yield* setup({ loadMs: 20, progressSteps: 4 })
      const identifiers = Array.from({ length: 100 }, (_, i) => `instance-${i}`)
      const [infos, handles] = yield* Effect.all([
        Effect.forEach(Array.from({ length: 1000 }, (_, i) => i), (i) =>
          Effect.map(client.llm.getModelInfo({ domain: "llm" }).pipe(Effect.either), () => i), { concurrency: "unbounded" }),
        Effect.forEach(identifiers, (identifier) => client.llm.loadNewInstance(LLAMA, { identifier }), {
          concurrency: "unbounded"
        })
      ], { concurrency: 2 }).pipe(within("15 seconds"))
      assert.deepStrictEqual(infos, Array.from({ length: 1000 }, (_, i) => i))
      assert.deepStrictEqual(handles.map((h) => h.identifier), identifiers, "each load got its own instance")
      assert.strictEqual((yield* sim.loaded).length, 100)
      const versions = yield* Effect.forEach(Array.from({ length: 1000 }), () => client.system.version(), {
        concurrency: "unbounded"
      })
      assert.isTrue(versions.every((v) => typeof v.version === "string"))
    }), 30_000)
})
