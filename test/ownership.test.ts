/**
 * A scope or handle unloads exactly the instance it owns, and a shared get-or-load belongs to all
 * of its waiters (issue 11, items 1–4). Every test here failed before ownership was keyed by
 * instance reference and single flight was redesigned.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as Clock from "effect/Clock"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { LLAMA, loadedIds, QWEN, sent, settle, setup } from "./support/harness.js"

/** Fails (instead of hanging) when `effect` does not finish within `limit`. */
const within = (limit: Duration.DurationInput) => <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.timeoutFail(effect, {
    duration: limit,
    onTimeout: () => new Error(`did not finish within ${Duration.format(Duration.decode(limit))}`)
  })

describe("ownership is keyed by instance", () => {
  it.scopedLive("closing a scope whose instance went away never unloads the instance that reused its identifier", () =>
    Effect.gen(function*() {
      const { client, sim } = yield* setup()
      const scopeA = yield* Scope.make()
      const a = yield* client.llm.loadNewInstanceScoped(LLAMA).pipe(Scope.extend(scopeA))
      yield* a.unload // A's instance goes away while A is open
      const scopeB = yield* Scope.make()
      const b = yield* client.llm.loadNewInstanceScoped(LLAMA).pipe(Scope.extend(scopeB))
      assert.strictEqual(b.identifier, a.identifier, "B's instance reuses the identifier")
      yield* Scope.close(scopeA, Exit.void)
      assert.deepStrictEqual(yield* loadedIds(sim), [LLAMA], "closing A left B's instance loaded")
      assert.strictEqual((yield* b.getInfo).instanceReference, b.info.instanceReference)
      yield* Scope.close(scopeB, Exit.void)
      assert.deepStrictEqual(yield* loadedIds(sim), [], "closing B unloaded its own instance")
    }))

  it.scopedLive("modelScoped: an instance evicted by a JIT load is not confused with the one loaded after it", () =>
    Effect.gen(function*() {
      const { client, sim } = yield* setup()
      const scopeA = yield* Scope.make()
      const a = yield* client.llm.modelScoped(LLAMA).pipe(Scope.extend(scopeA))
      yield* client.llm.model(QWEN) // JIT auto-evict unloads A's instance
      assert.deepStrictEqual(yield* loadedIds(sim), [QWEN])
      const scopeB = yield* Scope.make()
      const b = yield* client.llm.modelScoped(LLAMA).pipe(Scope.extend(scopeB)) // evicts QWEN, reuses A's identifier
      assert.strictEqual(b.identifier, a.identifier)
      yield* Scope.close(scopeA, Exit.void)
      assert.deepStrictEqual(yield* loadedIds(sim), [LLAMA], "closing A left B's instance loaded")
      yield* Scope.close(scopeB, Exit.void)
      assert.deepStrictEqual(yield* loadedIds(sim), [])
    }))
})

describe("a stale handle", () => {
  it.scopedLive("unload fails with ModelNotFoundError and leaves the newer instance that reused its identifier", () =>
    Effect.gen(function*() {
      const { client, sim } = yield* setup()
      const stale = yield* client.llm.loadNewInstance(LLAMA)
      yield* client.llm.unload(LLAMA)
      const fresh = yield* client.llm.loadNewInstance(LLAMA)
      assert.strictEqual(fresh.identifier, stale.identifier)
      const error = yield* Effect.flip(stale.unload)
      assert.strictEqual(error._tag, "ModelNotFoundError")
      assert.include(error.message, "already been unloaded")
      assert.deepStrictEqual(yield* loadedIds(sim), [LLAMA])
      yield* fresh.unload
      assert.deepStrictEqual(yield* loadedIds(sim), [])
    }))
})

describe("a shared get-or-load belongs to all its waiters", () => {
  it.scopedLive("a joiner does not wait for the first caller's progress callback that never returns", () =>
    Effect.gen(function*() {
      const { client, sim } = yield* setup({ loadMs: 200, progressSteps: 10 })
      const firstProgress = yield* Deferred.make<void>()
      const stuck = yield* Effect.fork(client.llm.model(LLAMA, {
        onProgress: () => Effect.zipRight(Deferred.succeed(firstProgress, undefined), Effect.never)
      }))
      yield* Deferred.await(firstProgress)
      const handle = yield* client.llm.model(LLAMA).pipe(within("3 seconds"))
      assert.strictEqual(handle.identifier, LLAMA)
      yield* Fiber.interrupt(stuck)
      // The stuck caller leaving does not undo the load the joiner received.
      assert.strictEqual((yield* handle.getInfo).identifier, LLAMA)
      assert.deepStrictEqual(yield* loadedIds(sim), [LLAMA])
      assert.strictEqual((yield* sent(sim, "channelCreate")).length, 1, "one getOrLoad on the wire")
    }))

  it.scopedLive("a joiner does not fail when the first caller's progress callback dies", () =>
    Effect.gen(function*() {
      const { client, sim } = yield* setup({ loadMs: 200, progressSteps: 10 })
      const firstProgress = yield* Deferred.make<void>()
      const dying = yield* Effect.fork(client.llm.model(LLAMA, {
        onProgress: (p) =>
          Effect.zipRight(Deferred.succeed(firstProgress, undefined), p > 0.25 ? Effect.die("callback broke") : Effect.void)
      }))
      yield* Deferred.await(firstProgress)
      const progress: Array<number> = []
      const handle = yield* client.llm.model(LLAMA, { onProgress: (p) => Effect.sync(() => progress.push(p)) })
        .pipe(within("3 seconds"))
      assert.strictEqual(handle.identifier, LLAMA)
      assert.strictEqual(progress.at(-1), 1, "the joiner's own callback saw the load finish")
      const exit = yield* Fiber.await(dying)
      assert.isTrue(Exit.isFailure(exit) && JSON.stringify(exit.cause).includes("callback broke"))
      assert.deepStrictEqual(yield* loadedIds(sim), [LLAMA])
      assert.strictEqual((yield* sent(sim, "channelCreate")).length, 1)
    }))

  it.scopedLive("the load is cancelled only when its last waiter leaves", () =>
    Effect.gen(function*() {
      const { client, sim } = yield* setup({ loadMs: 300, progressSteps: 10 })
      const started = yield* Deferred.make<void>()
      const waiters = yield* Effect.forEach(
        [0, 1, 2],
        (i) =>
          Effect.fork(client.llm.model(LLAMA, i === 0 ? { onProgress: () => Deferred.succeed(started, undefined) } : {})),
        { concurrency: "unbounded" }
      )
      yield* Deferred.await(started)
      yield* Fiber.interrupt(waiters[0]!)
      yield* Fiber.interrupt(waiters[1]!)
      const cancelsWhileOneWaits = (yield* sent(sim, "channelSend")).length
      assert.strictEqual(cancelsWhileOneWaits, 0, "no cancel while a waiter remains")
      yield* Fiber.interrupt(waiters[2]!)
      yield* settle(sim, [])
      assert.strictEqual((yield* sent(sim, "channelSend")).length, 1, "one cancel once the last waiter left")
    }))

  it.scopedLive("20 joiners keep their handles when the first caller leaves after the server loaded but before it said so", () =>
    Effect.gen(function*() {
      const { client, sim } = yield* setup({ loadMs: 20, progressSteps: 2 })
      yield* client.llm.listLoaded() // connect before replies slow down
      yield* sim.faults.delayReplies(400)
      const first = yield* Effect.fork(client.llm.model(LLAMA))
      const joiners = yield* Effect.forEach(Array.from({ length: 20 }), () => Effect.fork(client.llm.model(LLAMA)))
      // The server has loaded the instance; its loadSuccess is still on the way.
      yield* sim.loadedChanges.pipe(Stream.filter((infos) => infos.length === 1), Stream.runHead)
      yield* Fiber.interrupt(first)
      const handles = yield* Effect.forEach(joiners, Fiber.join).pipe(within("5 seconds"))
      // Nothing unloads the instance behind the joiners' backs (a cleanup did, within ~0.5 s).
      const change = yield* sim.loadedChanges.pipe(Stream.drop(1), Stream.runHead, Effect.timeoutOption("1500 millis"))
      assert.isTrue(change._tag === "None", "the loaded set did not change")
      yield* sim.faults.delayReplies(null)
      assert.strictEqual(handles.length, 20)
      for (const handle of handles) assert.strictEqual((yield* handle.getInfo).identifier, LLAMA)
      assert.deepStrictEqual(yield* loadedIds(sim), [LLAMA])
      assert.strictEqual((yield* sent(sim, "channelCreate")).length, 1, "one getOrLoad, never cancelled")
      assert.strictEqual((yield* sent(sim, "channelSend")).length, 0)
    }), 20_000)
})

describe("a server that never answers an unload", () => {
  it.scoped("closing the scope that owns an instance gives up after 5 s (finalizers are uninterruptible: the timeout still ends it)", () =>
    Effect.gen(function*() {
      const { client, sim } = yield* setup({ loadMs: 0 })
      const scope = yield* Scope.make()
      yield* Scope.extend(client.llm.loadNewInstanceScoped(LLAMA), scope)
      yield* sim.faults.hang("unloadModel")
      yield* sim.faults.hang("getModelInfo")
      const closing = yield* Effect.fork(Scope.close(scope, Exit.void))
      yield* TestClock.adjust("4900 millis")
      assert.isTrue(Option.isNone(yield* Fiber.poll(closing)), "still waiting for the server at 4.9 s")
      yield* TestClock.adjust("200 millis")
      const done = yield* Fiber.await(closing).pipe(Effect.timeoutOption("2 seconds"), Effect.provide(Layer.setClock(Clock.make())))
      assert.isTrue(Option.isSome(done), "the scope closed once the release timeout passed")
    }))
})
