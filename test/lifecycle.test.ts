/**
 * Scoped resources, cancellation at every stage, single flight, inactivity timeouts and idle TTLs.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as Option from "effect/Option"
import * as Chunk from "effect/Chunk"
import * as Scheduler from "effect/Scheduler"
import { LMStudioClient } from "../src/index.js"
import { defaultCatalog, LMStudioSimulator } from "../src/testing/index.js"
import { LLAMA, loadedIds, NOMIC, QWEN, sent, settle, setup } from "./support/harness.js"
import { acceptAll, listen, type Peer } from "./support/scriptedServer.js"

describe("scoped resources", () => {
  it.scopedLive("loadNewInstanceScoped unloads on success, failure and interruption", () =>
    Effect.gen(function*() {
      const { client, sim } = yield* setup()
      yield* Effect.scoped(Effect.gen(function*() {
        const model = yield* client.llm.loadNewInstanceScoped(LLAMA)
        assert.deepStrictEqual(yield* loadedIds(sim), [model.identifier])
      }))
      assert.deepStrictEqual(yield* loadedIds(sim), [], "after success")

      const failed = yield* Effect.scoped(Effect.zipRight(client.llm.loadNewInstanceScoped(LLAMA), Effect.fail("boom")))
        .pipe(Effect.exit)
      assert.isTrue(Exit.isFailure(failed))
      assert.deepStrictEqual(yield* loadedIds(sim), [], "after failure")

      const loaded = yield* Deferred.make<void>()
      const fiber = yield* Effect.scoped(
        Effect.zipRight(
          client.llm.loadNewInstanceScoped(LLAMA),
          Effect.zipRight(Deferred.succeed(loaded, undefined), Effect.never)
        )
      ).pipe(Effect.fork)
      yield* Deferred.await(loaded)
      assert.deepStrictEqual(yield* loadedIds(sim), [LLAMA])
      yield* Fiber.interrupt(fiber)
      assert.deepStrictEqual(yield* loadedIds(sim), [], "after interruption")
    }))

  it.scopedLive("modelScoped unloads only what it loaded", () =>
    Effect.gen(function*() {
      const { client, sim } = yield* setup()
      yield* sim.preload(QWEN)
      yield* Effect.scoped(client.llm.modelScoped(QWEN))
      assert.deepStrictEqual(yield* loadedIds(sim), [QWEN], "already loaded: kept")
      yield* Effect.scoped(Effect.gen(function*() {
        const model = yield* client.llm.modelScoped(LLAMA)
        assert.includeMembers(yield* loadedIds(sim), [model.identifier])
      }))
      assert.deepStrictEqual(yield* loadedIds(sim), [QWEN], "loaded by this call: unloaded")
    }))

  it.scopedLive("closing the client's scope disconnects; later calls fail with ClientClosed", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const { client, sim } = yield* setup().pipe(Scope.extend(scope))
      yield* client.llm.listLoaded()
      assert.strictEqual(yield* sim.connectionCount, 1)
      yield* Scope.close(scope, Exit.void)
      const error = yield* Effect.flip(client.llm.listLoaded())
      assert.strictEqual(error._tag, "ConnectionError")
      assert.include(error.message, "closed")
    }))
})

describe("cancellation leaves nothing loaded", () => {
  const stages = [
    { name: "before the first packet", midway: false },
    { name: "mid-progress", midway: true }
  ] as const

  /** A progress callback that signals the first fraction, and the point to interrupt at. */
  const stagePoint = (midway: boolean) =>
    Effect.map(Deferred.make<void>(), (progressed) => ({
      onProgress: () => Deferred.succeed(progressed, undefined),
      reached: midway ? Deferred.await(progressed) : Effect.sleep("0 millis")
    }))

  for (const stage of stages) {
    it.scopedLive(`loadNewInstance interrupted ${stage.name} sends cancel`, () =>
      Effect.gen(function*() {
        const { client, sim } = yield* setup({ loadMs: 200, progressSteps: 10 })
        const { onProgress, reached } = yield* stagePoint(stage.midway)
        const fiber = yield* Effect.fork(client.llm.loadNewInstance(LLAMA, { onProgress }))
        yield* reached
        yield* Fiber.interrupt(fiber)
        yield* settle(sim, [])
        const cancels = (yield* sent(sim, "channelSend")).filter((f) =>
          (f.message as { type?: string }).type === "cancel"
        )
        const creates = yield* sent(sim, "channelCreate")
        assert.strictEqual(cancels.length, creates.length, "every channel opened was cancelled")
        if (stage.midway) assert.strictEqual(cancels.length, 1)
      }))

    it.scopedLive(`model(key) interrupted ${stage.name} leaves nothing loaded`, () =>
      Effect.gen(function*() {
        const { client, sim } = yield* setup({ loadMs: 200, progressSteps: 10 })
        const { onProgress, reached } = yield* stagePoint(stage.midway)
        const fiber = yield* Effect.fork(client.llm.model(LLAMA, { onProgress }))
        yield* reached
        yield* Fiber.interrupt(fiber)
        yield* settle(sim, [])
      }))

    it.scopedLive(`loadNewInstanceStream stopped ${stage.name} leaves nothing loaded`, () =>
      Effect.gen(function*() {
        const { client, sim } = yield* setup({ loadMs: 200, progressSteps: 10 })
        const { onProgress, reached } = yield* stagePoint(stage.midway)
        const fiber = yield* Effect.fork(Stream.runForEach(
          client.llm.loadNewInstanceStream(LLAMA),
          (event) => event._tag === "Progress" ? onProgress() : Effect.void
        ))
        yield* reached
        yield* Fiber.interrupt(fiber)
        yield* settle(sim, [])
      }))
  }

  for (const stage of stages) {
    it.scopedLive(`loadNewInstanceScoped interrupted ${stage.name} leaves nothing loaded`, () =>
      Effect.gen(function*() {
        const { client, sim } = yield* setup({ loadMs: 200, progressSteps: 10 })
        const { onProgress, reached } = yield* stagePoint(stage.midway)
        const fiber = yield* Effect.fork(
          Effect.scoped(Effect.zipRight(client.llm.loadNewInstanceScoped(LLAMA, { onProgress }), Effect.never))
        )
        yield* reached
        yield* Fiber.interrupt(fiber)
        yield* settle(sim, [])
      }))

    it.scopedLive(`modelScoped interrupted ${stage.name} leaves nothing loaded`, () =>
      Effect.gen(function*() {
        const { client, sim } = yield* setup({ loadMs: 200, progressSteps: 10 })
        const { onProgress, reached } = yield* stagePoint(stage.midway)
        const fiber = yield* Effect.fork(
          Effect.scoped(Effect.zipRight(client.embedding.modelScoped(NOMIC, { onProgress }), Effect.never))
        )
        yield* reached
        yield* Fiber.interrupt(fiber)
        yield* settle(sim, [])
      }))
  }

  it.scopedLive("taking only the first events of a stream cancels the load", () =>
    Effect.gen(function*() {
      const { client, sim } = yield* setup({ loadMs: 200, progressSteps: 10 })
      const firstTwo = yield* Stream.runCollect(Stream.take(client.llm.modelStream(LLAMA), 2))
      assert.strictEqual(firstTwo.length, 2)
      yield* settle(sim, [])
    }))

  it.scopedLive("interrupting right as the load succeeds still unloads it (racing success)", () =>
    Effect.gen(function*() {
      // Interrupt at many points around the end of a short load; every run must end empty.
      const { client, sim } = yield* setup({ loadMs: 10, progressSteps: 2 })
      for (const delay of [0, 2, 4, 6, 8, 10, 12, 14, 16, 20]) {
        const fiber = yield* Effect.fork(client.llm.loadNewInstance(LLAMA))
        yield* Effect.sleep(`${delay} millis`)
        const exit = yield* Fiber.interrupt(fiber)
        if (Exit.isSuccess(exit)) yield* exit.value.unload // it won the race: the caller has the handle
        yield* settle(sim, [])
      }
    }))

  it.scopedLive("model(key) interrupted right as the load succeeds leaves nothing loaded either", () =>
    Effect.gen(function*() {
      const { client, sim } = yield* setup({ loadMs: 10, progressSteps: 2 })
      for (const delay of [0, 2, 4, 6, 8, 10, 12, 14, 16, 20]) {
        const fiber = yield* Effect.fork(client.llm.model(LLAMA))
        yield* Effect.sleep(`${delay} millis`)
        const exit = yield* Fiber.interrupt(fiber)
        if (Exit.isSuccess(exit)) yield* exit.value.unload
        yield* settle(sim, [])
      }
    }))

  it.scopedLive("a failing onProgress callback cancels the load and unloads", () =>
    Effect.gen(function*() {
      const { client, sim } = yield* setup({ loadMs: 100, progressSteps: 10 })
      const exit = yield* Effect.exit(
        client.llm.loadNewInstance(LLAMA, { onProgress: (p) => p > 0.3 ? Effect.die("callback broke") : Effect.void })
      )
      assert.isTrue(Exit.isFailure(exit))
      yield* settle(sim, [])
    }))
})

describe("beyond the official clients", () => {
  it.scopedLive("concurrent model(key) calls share one load", () =>
    Effect.gen(function*() {
      const { client, sim } = yield* setup({ loadMs: 50 })
      const progress: Array<Array<number>> = [[], [], [], [], []]
      const handles = yield* Effect.forEach(
        progress,
        (seen) => client.llm.model(LLAMA, { onProgress: (p) => Effect.sync(() => seen.push(p)) }),
        { concurrency: "unbounded" }
      )
      assert.deepStrictEqual(new Set(handles.map((h) => h.identifier)), new Set([LLAMA]))
      const creates = yield* sent(sim, "channelCreate")
      assert.strictEqual(creates.length, 1, "one getOrLoad on the wire")
      assert.deepStrictEqual(yield* loadedIds(sim), [LLAMA])
      for (const seen of progress) assert.strictEqual(seen.at(-1), 1)
    }))

  it.scopedLive("the first caller giving up does not fail those that joined its load", () =>
    Effect.gen(function*() {
      const { client, sim } = yield* setup({ loadMs: 100 })
      const quitter = yield* Effect.fork(client.llm.model(LLAMA))
      const stayer = yield* Effect.fork(client.llm.model(LLAMA))
      yield* Effect.sleep("30 millis")
      yield* Fiber.interrupt(quitter)
      const handle = yield* Fiber.join(stayer)
      assert.strictEqual(handle.identifier, LLAMA)
      assert.deepStrictEqual(yield* loadedIds(sim), [LLAMA])
    }))
})

/**
 * A scripted server that answers a load's `channelCreate` with `resolved` only, then sends what
 * the test tells it to; it ends the channel with an error on `cancel`, as LM Studio does.
 */
const silentLoadServer = Effect.gen(function*() {
  const opened = yield* Deferred.make<{ readonly peer: Peer; readonly channelId: number }>()
  const server = yield* listen(acceptAll((peer, frame) => {
    const f = frame as { type?: string; channelId: number; message?: { type?: string } }
    if (f.type === "channelCreate") {
      peer.send({ type: "channelSend", channelId: f.channelId, message: { type: "resolved", info: LLAMA_INFO } })
      Effect.runSync(Deferred.succeed(opened, { peer, channelId: f.channelId }))
    }
    if (f.type === "channelSend" && f.message?.type === "cancel") {
      peer.send({ type: "channelError", channelId: f.channelId, error: { title: "Model loading was cancelled" } })
    }
  }))
  const client = yield* LMStudioClient.make({ baseUrl: server.url })
  return { server, client, opened: Deferred.await(opened) }
})

const LLAMA_INFO = (() => {
  const info = defaultCatalog.find((m) => m.modelKey === LLAMA)
  if (info === undefined) throw new Error("the default catalog has no " + LLAMA)
  return info
})()

describe("load inactivity (TestClock)", () => {
  it.scoped("a load that stops making progress fails with LoadTimeoutError and is cancelled", () =>
    Effect.gen(function*() {
      const { client, opened, server } = yield* silentLoadServer
      const load = yield* Effect.fork(client.llm.loadNewInstance(LLAMA, { loadInactivityTimeout: "150 millis" }))
      yield* opened
      yield* TestClock.adjust("149 millis")
      assert.isTrue(Option.isNone(yield* Fiber.poll(load)), "still loading just before the limit")
      yield* TestClock.adjust("1 millis")
      const error = yield* Effect.flip(Fiber.join(load))
      assert.strictEqual(error._tag, "LoadTimeoutError")
      assert.include(error.message, LLAMA)
      const cancels = server.received.filter(({ frame }) => (frame as { message?: { type?: string } }).message?.type === "cancel")
      assert.strictEqual(cancels.length, 1)
    }))

  it.scoped("progress resets the inactivity timer", () =>
    Effect.gen(function*() {
      const { client, opened } = yield* silentLoadServer
      const progressed = yield* Deferred.make<void>()
      const load = yield* Effect.fork(client.llm.loadNewInstance(LLAMA, {
        loadInactivityTimeout: "400 millis",
        onProgress: (p) => p === 0.5 ? Deferred.succeed(progressed, undefined) : Effect.void
      }))
      const { channelId, peer } = yield* opened
      yield* TestClock.adjust("300 millis")
      peer.send({ type: "channelSend", channelId, message: { type: "progress", progress: 0.5 } })
      yield* Deferred.await(progressed)
      yield* TestClock.adjust("300 millis") // 600 ms since the start, 300 since the last packet
      assert.isTrue(Option.isNone(yield* Fiber.poll(load)), "still loading")
      const info = { ...LLAMA_INFO, identifier: LLAMA, instanceReference: "ref-1", contextLength: 4096, maxContextLength: 131072, trainedForToolUse: false, vision: false }
      peer.send({ type: "channelSend", channelId, message: { type: "success", info } })
      peer.send({ type: "channelClose", channelId })
      const model = yield* Fiber.join(load)
      assert.strictEqual(model.identifier, LLAMA)
    }))
})

describe("forward compatibility", () => {
  it.scoped("a load packet of a type this client does not know is ignored; the load goes on", () =>
    Effect.gen(function*() {
      const { client, opened } = yield* silentLoadServer
      const progress: Array<number> = []
      const load = yield* Effect.fork(client.llm.loadNewInstance(LLAMA, { onProgress: (p) => Effect.sync(() => progress.push(p)) }))
      const { channelId, peer } = yield* opened
      peer.send({ type: "channelSend", channelId, message: { type: "loadingPhase", phase: "warming up" } })
      peer.send({ type: "channelSend", channelId, message: { type: "progress", progress: 0.5 } })
      const info = { ...LLAMA_INFO, identifier: LLAMA, instanceReference: "ref-1", contextLength: 4096, maxContextLength: 131072, trainedForToolUse: false, vision: false }
      peer.send({ type: "channelSend", channelId, message: { type: "success", info } })
      peer.send({ type: "channelClose", channelId })
      const model = yield* Fiber.join(load)
      assert.strictEqual(model.identifier, LLAMA)
      assert.deepStrictEqual(progress, [0.5, 1])
    }))
})

describe("idle TTL (TestClock)", () => {
  it.scoped("a scope never unloads another instance that reused its idled-out identifier", () =>
    Effect.gen(function*() {
      const { client, sim } = yield* setup({ loadMs: 0 })
      yield* Effect.scoped(Effect.gen(function*() {
        const mine = yield* client.llm.loadNewInstanceScoped(LLAMA, { ttl: "1 minute" })
        yield* TestClock.adjust("2 minutes") // mine idles out on the server
        const theirs = yield* client.llm.loadNewInstance(LLAMA) // and its identifier is reused
        assert.strictEqual(theirs.identifier, mine.identifier)
      }))
      assert.deepStrictEqual(yield* loadedIds(sim), [LLAMA], "the other program's instance is still loaded")
    }))

  it.scoped("an instance unloads after its TTL of idle time", () =>
    Effect.gen(function*() {
      const { client, sim } = yield* setup({ loadMs: 0 })
      yield* client.llm.loadNewInstance(LLAMA, { ttl: "10 minutes" })
      yield* client.embedding.model(NOMIC, { ttl: "1 hour" })
      yield* TestClock.adjust("9 minutes")
      assert.deepStrictEqual(yield* loadedIds(sim), [LLAMA, NOMIC].sort())
      yield* TestClock.adjust("2 minutes")
      assert.deepStrictEqual(yield* loadedIds(sim), [NOMIC])
      yield* TestClock.adjust("1 hour")
      assert.deepStrictEqual(yield* loadedIds(sim), [])
      const error = yield* Effect.flip(client.llm.unload(LLAMA))
      assert.strictEqual(error._tag, "ModelNotFoundError")
    }))
})


describe("a fiber that yields while a load's channel opens", () => {
  it.scopedLive("packets that arrive before the load's run exists are replayed, not dropped (model and modelStream)", () =>
    Effect.gen(function*() {
      const sim = yield* LMStudioSimulator.make({ loadMs: 20, progressSteps: 5 })
      const client = yield* LMStudioClient.make({ baseUrl: sim.url, loadInactivityTimeout: "3 seconds" })
      yield* sim.preload(LLAMA)
      yield* client.llm.model(LLAMA) // connected
      // A scheduler that yields every few operations, so the fiber yields somewhere between
      // sending the create frame and getting its channel (where depends on the count).
      const yielding = <A, E>(effect: Effect.Effect<A, E>, ops: number) =>
        effect.pipe(Effect.withMaxOpsBeforeYield(ops), Effect.withScheduler(Scheduler.timer(0)), Effect.timeoutOption("2 seconds"))
      for (let ops = 10; ops <= 24; ops++) {
        const model = yield* yielding(client.llm.model(LLAMA), ops)
        assert.isTrue(Option.isSome(model), `model() with a yield every ${ops} operations`)
        const events = yield* yielding(Stream.runCollect(client.llm.modelStream(LLAMA)), ops)
        assert.isTrue(Option.isSome(events), `modelStream with a yield every ${ops} operations`)
        assert.strictEqual(Chunk.last(Option.getOrThrow(events)).pipe(Option.map((e) => e._tag), Option.getOrUndefined), "Loaded")
      }
      assert.deepStrictEqual((yield* sim.loaded).map((info) => info.modelKey), [LLAMA], "still loaded: nothing was unloaded")
    }))
})
