/**
 * Predictions end to end against the simulator: what a user does (respond, stream, complete,
 * structured output, a reasoning model), interruption at every stage leaving the simulator with
 * nothing generating, and the simulator's prediction faults (stall, failure, unknown packets,
 * an instance unloaded before or during a prediction).
 */
import { assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as TestServices from "effect/TestServices"
import { Chat, LMStudioClient, Prediction } from "../src/index.js"
import { LMStudioSimulator } from "../src/testing/index.js"

const LLAMA = "llama-3.2-1b-instruct"
const R1 = "deepseek-r1-distill-qwen-1.5b"

type Frame = Record<string, any>

const setup = (options: LMStudioSimulator.SimulatorOptions = {}, key = LLAMA) =>
  Effect.gen(function*() {
    // The simulator paces tokens on the real clock, also in TestClock tests.
    const sim = yield* TestServices.provideLive(LMStudioSimulator.make({ loadMs: 0, tokenMs: 2, ...options }))
    yield* sim.preload(key)
    const client = yield* LMStudioClient.make({ baseUrl: sim.url })
    const model = yield* client.llm.model(key)
    return { sim, client, model }
  })

const frames = (sim: LMStudioSimulator.LMStudioSimulator.Service, direction: "in" | "out") =>
  Effect.map(sim.traffic, (entries) =>
    entries.filter((e) => e.direction === direction && e.namespace === "llm").map((e) => e.frame as Frame))

/**
 * Nothing is generating: every prediction channel the client opened has been answered with a
 * `success` (or an error) and closed by the simulator.
 */
const assertIdle = (sim: LMStudioSimulator.LMStudioSimulator.Service) =>
  Effect.gen(function*() {
    for (let attempt = 0; attempt < 200; attempt++) {
      const opened = (yield* frames(sim, "in")).filter((f) => f.type === "channelCreate" && f.endpoint === "predict")
      const ended = new Set(
        (yield* frames(sim, "out")).filter((f) => f.type === "channelClose" || f.type === "channelError").map((f) => f.channelId)
      )
      if (opened.every((f) => ended.has(f.channelId))) return
      yield* Effect.promise(() => new Promise((r) => setTimeout(r, 5)))
    }
    assert.fail("a prediction is still generating on the simulator")
  })

const stopReasons = (sim: LMStudioSimulator.LMStudioSimulator.Service) =>
  Effect.map(frames(sim, "out"), (out) =>
    out.filter((f) => f.type === "channelSend" && f.message?.type === "success").map((f) => f.message.stats.stopReason))

const noWarnings = (sim: LMStudioSimulator.LMStudioSimulator.Service) =>
  Effect.map(frames(sim, "in"), (inbound) => assert.deepStrictEqual(inbound.filter((f) => f.type === "communicationWarning"), []))

describe("guide: respond, stream, complete (simulator)", () => {
  it.scopedLive("respond answers deterministically, with token statistics", () =>
    Effect.gen(function*() {
      const { model, sim } = yield* setup()
      const chat = Chat.make(Chat.system("You are terse."), Chat.user("What is the capital of France?"))
      const first = yield* model.respond(chat)
      const again = yield* model.respond(chat)
      assert.isAbove(first.content.length, 0)
      assert.strictEqual(again.content, first.content)
      assert.strictEqual(first.stats.stopReason, "eosFound")
      assert.strictEqual(first.stats.totalTokensCount, (first.stats.promptTokensCount ?? 0) + (first.stats.predictedTokensCount ?? 0))
      assert.strictEqual(first.modelInfo.identifier, LLAMA)
      const next = yield* model.respond(chat.pipe(Chat.appendResult(first), Chat.appendUser("And of Italy?")))
      assert.notStrictEqual(next.content, first.content)
      yield* noWarnings(sim)
    }))

  it.scopedLive("maxTokens cuts the answer after exactly that many tokens", () =>
    Effect.gen(function*() {
      const { model } = yield* setup()
      const result = yield* model.respond("Tell me a story.", { config: { maxTokens: 3 } })
      assert.strictEqual(result.stats.stopReason, "maxPredictedTokensReached")
      assert.strictEqual(result.stats.predictedTokensCount, 3)
    }))

  it.scopedLive("respondStream: prompt processing, one fragment per token, the result last", () =>
    Effect.gen(function*() {
      const { model } = yield* setup()
      const events = Chunk.toReadonlyArray(yield* Stream.runCollect(model.respondStream("Hello there")))
      assert.strictEqual(events[0]?._tag, "PromptProcessing")
      const last = events[events.length - 1]!
      assert.isTrue(Prediction.isResult(last))
      const fragments = events.filter(Prediction.isFragment)
      assert.isAbove(fragments.length, 3)
      if (Prediction.isResult(last)) {
        assert.strictEqual(last.result.content, fragments.map((f) => f.content).join(""))
        assert.strictEqual(fragments.length + (last.result.stats.stopReason === "eosFound" ? 1 : 0), last.result.stats.predictedTokensCount)
      }
    }))

  it.scopedLive("a reasoning model: reasoning and answer are told apart", () =>
    Effect.gen(function*() {
      const { model } = yield* setup({}, R1)
      const result = yield* model.respond("Why is the sky blue?")
      assert.isAbove(result.reasoningContent.length, 0)
      assert.isAbove(result.nonReasoningContent.length, 0)
      assert.include(result.content, "<think>")
      assert.notInclude(result.nonReasoningContent, "<think>")
      const appended = Chat.make(Chat.user("q")).pipe(Chat.appendResult(result))
      assert.strictEqual(appended.messages[1]?.content, result.nonReasoningContent)
    }))

  it.scopedLive("complete and completeStream", () =>
    Effect.gen(function*() {
      const { model } = yield* setup()
      const result = yield* model.complete("Once upon a time", { config: { maxTokens: 5 } })
      assert.strictEqual(result.stats.predictedTokensCount, 5)
      const streamed = yield* model.completeStream("Once upon a time", { config: { maxTokens: 5 } }).pipe(
        Stream.filter(Prediction.isFragment),
        Stream.map((f) => f.content),
        Stream.runCollect
      )
      assert.strictEqual(Chunk.join(streamed, ""), result.content)
    }))

  it.scopedLive("structured output decodes into the Schema's type", () =>
    Effect.gen(function*() {
      const { model } = yield* setup()
      const Book = Schema.Struct({ title: Schema.String, year: Schema.Number, tags: Schema.Array(Schema.String) })
      const result = yield* model.respond("Tell me about a book.", { structured: Book, config: { maxTokens: 500 } })
      assert.isString(result.parsed.title)
      assert.isNumber(result.parsed.year)
      assert.isArray(result.parsed.tags)
    }))

  it.scopedLive("applyPromptTemplate formats a chat", () =>
    Effect.gen(function*() {
      const { model } = yield* setup()
      const formatted = yield* model.applyPromptTemplate([{ role: "user", content: "Hi there" }])
      assert.include(formatted, "Hi there")
    }))
})

describe("interruption at every stage leaves nothing generating (simulator)", () => {
  it.scopedLive("before the first fragment", () =>
    Effect.gen(function*() {
      const { model, sim } = yield* setup({ tokenMs: 50 })
      const fiber = yield* Effect.fork(model.respond("Tell me a story."))
      for (let i = 0; i < 200 && (yield* frames(sim, "in")).every((f) => f.endpoint !== "predict"); i++) {
        yield* Effect.promise(() => new Promise((r) => setTimeout(r, 2)))
      }
      yield* Fiber.interrupt(fiber)
      yield* assertIdle(sim)
      assert.deepStrictEqual(yield* stopReasons(sim), ["userStopped"])
      yield* noWarnings(sim)
    }))

  it.scopedLive("mid-stream, from the Effect variant and from a Stream consumer", () =>
    Effect.gen(function*() {
      const { model, sim } = yield* setup({ tokenMs: 10 })
      const firstToken = yield* Deferred.make<void>()
      const fiber = yield* Effect.fork(model.respond("Tell me a long story.", { onFirstToken: () => Deferred.succeed(firstToken, void 0) }))
      yield* Deferred.await(firstToken)
      yield* Fiber.interrupt(fiber)
      const two = yield* model.respondStream("Tell me a long story.").pipe(Stream.filter(Prediction.isFragment), Stream.take(2), Stream.runCollect)
      assert.strictEqual(Chunk.size(two), 2)
      yield* assertIdle(sim)
      assert.deepStrictEqual(yield* stopReasons(sim), ["userStopped", "userStopped"])
      yield* noWarnings(sim)
    }))

  it.scopedLive("racing success: interrupts at every point of a short prediction", () =>
    Effect.gen(function*() {
      const { model, sim } = yield* setup({ tokenMs: 1 })
      for (let delay = 0; delay < 24; delay += 2) {
        const fiber = yield* Effect.fork(model.respond("Hi", { config: { maxTokens: 6 } }))
        yield* Effect.promise(() => new Promise((r) => setTimeout(r, delay)))
        yield* Fiber.interrupt(fiber)
      }
      yield* assertIdle(sim)
      yield* noWarnings(sim)
    }))
})

describe("faults and failures (simulator)", () => {
  it.scoped("a stalled prediction times out on the TestClock and is cancelled", () =>
    Effect.gen(function*() {
      const { model, sim } = yield* setup()
      yield* sim.faults.stallPredictionAfter(2)
      const fiber = yield* Effect.fork(Effect.flip(model.respond("Tell me a story.", { predictionInactivityTimeout: "1 minute" })))
      for (let i = 0; i < 400; i++) {
        const fragments = (yield* frames(sim, "out")).filter((f) => f.message?.type === "fragment").length
        if (fragments === 2) break
        yield* Effect.promise(() => new Promise((r) => setTimeout(r, 5)))
      }
      yield* TestClock.adjust("1 minute")
      const error = yield* Fiber.join(fiber)
      assert.strictEqual(error._tag, "PredictionTimeoutError")
      yield* assertIdle(sim)
    }))

  it.scopedLive("a prediction the server fails is a PredictionFailedError with the partial text", () =>
    Effect.gen(function*() {
      const { model, sim } = yield* setup()
      yield* sim.faults.failPredictionAfter(2)
      const error = yield* Effect.flip(model.respond("Tell me a story."))
      assert.strictEqual(error._tag, "PredictionFailedError")
      if (error._tag === "PredictionFailedError") assert.isAbove(error.content.length, 0)
    }))

  it.scopedLive("unknown packet types are ignored", () =>
    Effect.gen(function*() {
      const { model, sim } = yield* setup()
      yield* sim.faults.unknownPredictionPacketAfter(1)
      const result = yield* model.respond("Hello")
      assert.strictEqual(result.stats.stopReason, "eosFound")
      yield* noWarnings(sim)
    }))

  it.scopedLive("an instance unloaded before the call: ModelNotFoundError at once; during it: PredictionFailedError", () =>
    Effect.gen(function*() {
      const { client, model, sim } = yield* setup({ tokenMs: 20 })
      const fiber = yield* Effect.fork(Effect.flip(model.respond("Tell me a long story.")))
      for (let i = 0; i < 200 && (yield* frames(sim, "out")).every((f) => f.message?.type !== "fragment"); i++) {
        yield* Effect.promise(() => new Promise((r) => setTimeout(r, 5)))
      }
      yield* client.llm.unload(LLAMA)
      const during = yield* Fiber.join(fiber)
      assert.strictEqual(during._tag, "PredictionFailedError")
      if (during._tag === "PredictionFailedError") assert.strictEqual(during.stopReason, "modelUnloaded")
      const after = yield* Effect.flip(model.respond("Hello"))
      assert.strictEqual(after._tag, "ModelNotFoundError")
      assert.include(after.message, "already been unloaded")
    }))
})
