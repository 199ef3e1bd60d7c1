/**
 * Predictions on LLM handles, row by row of the design's handle-operations table: respond,
 * respondStream, complete, completeStream, structured output, cancellation, callbacks, Chat,
 * applyPromptTemplate; plus interruption at every stage, the timeout and failure paths, and bad
 * input rejected before any frame.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Equal from "effect/Equal"
import * as Hash from "effect/Hash"
import * as Fiber from "effect/Fiber"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import * as Clock from "effect/Clock"
import * as Layer from "effect/Layer"
import { Chat, LMStudioClient, Prediction } from "../src/index.js"
import { FileHandle } from "../src/FileHandle.js"
import * as PredictServer from "./support/predictServer.js"
import { acceptAll, listen } from "./support/scriptedServer.js"
import { recordingTracer } from "./support/recordingTracer.js"

const answer = (fragments: ReadonlyArray<string | Record<string, unknown>>, extra?: Partial<PredictServer.Behaviour>) =>
  ({ _tag: "Answer", fragments, ...extra }) as PredictServer.Behaviour

const setup = (behaviour: PredictServer.Behaviour, tokenMs = 2) =>
  Effect.gen(function*() {
    const server = yield* PredictServer.make(behaviour, tokenMs)
    const client = yield* LMStudioClient.make({ baseUrl: server.url })
    const model = yield* client.llm.model()
    return { server, client, model }
  })

type Frame = Record<string, any>
const creates = (server: PredictServer.PredictServer): Array<Frame> =>
  server.llmFrames.filter((f) => f.type === "channelCreate")
const cancels = (server: PredictServer.PredictServer): Array<Frame> =>
  server.llmFrames.filter((f) => f.type === "channelSend" && f.message?.type === "cancel")
const warnings = (server: PredictServer.PredictServer): Array<Frame> =>
  server.llmFrames.filter((f) => f.type === "communicationWarning")

/** Waits (real time, up to ~2 s) for a condition on the server. */
const until = (condition: () => boolean) =>
  Effect.gen(function*() {
    for (let i = 0; i < 400 && !condition(); i++) yield* Effect.promise(() => new Promise((r) => setTimeout(r, 5)))
    assert.isTrue(condition(), "condition not reached in time")
  })

const HELLO = ["Assistant", " message", " ", "2"]

describe("respond", () => {
  it.scopedLive("respond(string) returns the whole answer, its stats and the instance", () =>
    Effect.gen(function*() {
      const { model, server } = yield* setup(answer(HELLO))
      const result = yield* model.respond("User message 1")
      assert.strictEqual(result.content, "Assistant message 2")
      assert.strictEqual(result.nonReasoningContent, "Assistant message 2")
      assert.strictEqual(result.reasoningContent, "")
      assert.strictEqual(result.stats.stopReason, "eosFound")
      assert.strictEqual(result.stats.predictedTokensCount, 5)
      assert.strictEqual(result.stats.totalTokensCount, 46)
      assert.strictEqual(result.modelInfo.identifier, PredictServer.INSTANCE.identifier)
      assert.isTrue(result instanceof Prediction.PredictionResult)
      assert.strictEqual(result.parsed, undefined)
      const [create] = creates(server)
      assert.deepStrictEqual(create?.creationParameter, {
        modelSpecifier: { type: "instanceReference", instanceReference: "b1c2d3e4" },
        history: { messages: [{ role: "user", content: [{ type: "text", text: "User message 1" }] }] },
        predictionConfigStack: { layers: [{ layerName: "apiOverride", config: { fields: [] } }] }
      })
      assert.deepStrictEqual(cancels(server), [])
      assert.deepStrictEqual(warnings(server), [])
    }))

  it.scopedLive("a Chat, built and continued with the Chat module, is sent message by message", () =>
    Effect.gen(function*() {
      const { model, server } = yield* setup(answer(HELLO))
      const chat = Chat.make(Chat.system("This is the system prompt."), Chat.user("User message 1"))
      const first = yield* model.respond(chat)
      const next = chat.pipe(Chat.appendResult(first), Chat.appendUser("User message 2"))
      yield* model.respond(next)
      assert.deepStrictEqual(creates(server)[1]?.creationParameter.history, {
        messages: [
          { role: "system", content: [{ type: "text", text: "This is the system prompt." }] },
          { role: "user", content: [{ type: "text", text: "User message 1" }] },
          { role: "assistant", content: [{ type: "text", text: "Assistant message 2" }] },
          { role: "user", content: [{ type: "text", text: "User message 2" }] }
        ]
      })
      // Chats are values: the original is unchanged, equal chats are equal.
      assert.strictEqual(chat.messages.length, 2)
      assert.isTrue(Equal.equals(next, Chat.make(...next.messages)))
    }))

  it.scopedLive("plain [{ role, content }] arrays and images (file parts before the text) are accepted", () =>
    Effect.gen(function*() {
      // Images go only to vision models (a model without vision refuses them before any frame).
      const server = yield* PredictServer.make(answer(HELLO), 2, { ...PredictServer.INSTANCE, vision: true })
      const model = yield* (yield* LMStudioClient.make({ baseUrl: server.url })).llm.model()
      const image = { _tag: "FileHandle", name: "dot.png", identifier: "1764457200000-dot.png", type: "image", sizeBytes: 68 } as const
      yield* model.respond([
        { role: "system", content: "Be brief." },
        { role: "user", content: "What is this?", images: [image as never] }
      ])
      assert.deepStrictEqual(creates(server)[0]?.creationParameter.history.messages[1], {
        role: "user",
        content: [
          { type: "file", identifier: "1764457200000-dot.png", name: "dot.png", fileType: "image", sizeBytes: 68 },
          { type: "text", text: "What is this?" }
        ]
      })
    }))

  it.scopedLive("config becomes llm.prediction.* fields; preset becomes fuzzyPresetIdentifier", () =>
    Effect.gen(function*() {
      const { model, server } = yield* setup(answer(HELLO))
      yield* model.respond("Say hi", { config: { temperature: 0, maxTokens: 10, stopStrings: ["\n\n"] }, preset: "my-preset" })
      const parameter = creates(server)[0]?.creationParameter
      assert.deepStrictEqual(parameter.predictionConfigStack.layers[0].config.fields, [
        { key: "llm.prediction.temperature", value: 0 },
        { key: "llm.prediction.maxPredictedTokens", value: { checked: true, value: 10 } },
        { key: "llm.prediction.stopStrings", value: ["\n\n"] }
      ])
      assert.strictEqual(parameter.fuzzyPresetIdentifier, "my-preset")
    }))

  it.scopedLive("callbacks: prompt progress (with details), first token once, every fragment", () =>
    Effect.gen(function*() {
      const { model } = yield* setup(answer(HELLO))
      const seen = yield* Ref.make<Array<string>>([])
      const log = (entry: string) => Ref.update(seen, (xs) => [...xs, entry])
      const result = yield* model.respond("hi", {
        onPromptProcessingProgress: (progress, details) => log(`progress ${progress} ${details?.processedPromptTokenCount}`),
        onFirstToken: () => log("first"),
        onFragment: (fragment) => log(`fragment ${fragment.content}`)
      })
      assert.deepStrictEqual(yield* Ref.get(seen), [
        "progress 0 0",
        "progress 1 41",
        "first",
        "fragment Assistant",
        "fragment  message",
        "fragment  ",
        "fragment 2"
      ])
      assert.strictEqual(result.content, "Assistant message 2")
    }))
})

describe("respondStream", () => {
  it.scopedLive("prompt processing, fragments, and the result as the last event", () =>
    Effect.gen(function*() {
      const { model } = yield* setup(answer(HELLO))
      const events = Chunk.toReadonlyArray(yield* Stream.runCollect(model.respondStream("hi")))
      assert.deepStrictEqual(events.map((e) => e._tag), [
        "PromptProcessing",
        "PromptProcessing",
        "Fragment",
        "Fragment",
        "Fragment",
        "Fragment",
        "Result"
      ])
      const fragments = events.filter(Prediction.isFragment)
      const last = events[events.length - 1]!
      assert.isTrue(Prediction.isResult(last))
      if (Prediction.isResult(last)) assert.strictEqual(last.result.content, fragments.map((f) => f.content).join(""))
      assert.deepStrictEqual(fragments[0], {
        _tag: "Fragment",
        content: "Assistant",
        tokensCount: 1,
        containsDrafted: false,
        reasoningType: "none",
        isStructural: false
      })
    }))

  it.scopedLive("reasoning fragments are split into reasoningContent and nonReasoningContent", () =>
    Effect.gen(function*() {
      const { model } = yield* setup(answer([
        "As",
        { content: "sis", reasoningType: "reasoningStartTag" },
        { content: "tant", reasoningType: "reasoning" },
        { content: " m", reasoningType: "reasoning" },
        { content: "es", reasoningType: "reasoningEndTag" },
        "sage",
        " ",
        "2"
      ]))
      const result = yield* model.respond("hi")
      assert.strictEqual(result.content, "Assistant message 2")
      assert.strictEqual(result.reasoningContent, "tant m")
      assert.strictEqual(result.nonReasoningContent, "Assage 2")
    }))

  it.scopedLive("unknown packet types are ignored; tool-call packets become events", () =>
    Effect.gen(function*() {
      const { model, server } = yield* setup(answer(["ok"], {
        extra: [
          { type: "someFuturePacket", payload: 1 },
          { type: "toolCallGenerationStart", toolCallId: "call_0" },
          { type: "toolCallGenerationEnd", toolCallRequest: { type: "function", name: "get_weather", arguments: { city: "Paris" } } }
        ]
      }))
      const events = Chunk.toReadonlyArray(yield* Stream.runCollect(model.respondStream("weather?")))
      const toolEvents = events.filter((e) => e._tag.startsWith("ToolCall"))
      assert.deepStrictEqual(toolEvents, [
        { _tag: "ToolCallStart", callId: 0, toolCallId: "call_0" },
        { _tag: "ToolCallName", callId: 0, name: "get_weather" },
        { _tag: "ToolCallArguments", callId: 0, content: JSON.stringify({ city: "Paris" }, null, 2) },
        {
          _tag: "ToolCallEnd",
          callId: 0,
          request: { type: "function", name: "get_weather", arguments: { city: "Paris" } },
          rawContent: undefined
        }
      ])
      assert.strictEqual(events[events.length - 1]?._tag, "Result")
      assert.deepStrictEqual(warnings(server), [])
    }))
})

describe("complete and completeStream", () => {
  it.scopedLive("complete sends one user message and the pass-through formatting layer, stopStrings [] by default", () =>
    Effect.gen(function*() {
      const { model, server } = yield* setup(answer(["4"]))
      const result = yield* model.complete("1 + 1 = 2; 2 + 2 = ", { config: { maxTokens: 3 } })
      assert.strictEqual(result.content, "4")
      const parameter = creates(server)[0]?.creationParameter
      assert.deepStrictEqual(parameter.history, {
        messages: [{ role: "user", content: [{ type: "text", text: "1 + 1 = 2; 2 + 2 = " }] }]
      })
      assert.deepStrictEqual(parameter.predictionConfigStack.layers, [
        {
          layerName: "apiOverride",
          config: {
            fields: [
              { key: "llm.prediction.maxPredictedTokens", value: { checked: true, value: 3 } },
              { key: "llm.prediction.stopStrings", value: [] }
            ]
          }
        },
        {
          layerName: "completeModeFormatting",
          config: {
            fields: [{
              key: "llm.prediction.promptTemplate",
              value: {
                type: "jinja",
                jinjaPromptTemplate: { template: "{% for message in messages %}{{ message['content'] }}{% endfor %}" },
                stopStrings: []
              }
            }]
          }
        }
      ])
    }))

  it.scopedLive("completeStream streams fragments and ends with the result; given stop strings are kept", () =>
    Effect.gen(function*() {
      const { model, server } = yield* setup(answer(["4"], { stopReason: "stopStringFound" }))
      const events = Chunk.toReadonlyArray(yield* Stream.runCollect(model.completeStream("2 + 2 = ", { config: { stopStrings: [";"] } })))
      assert.deepStrictEqual(events.filter(Prediction.isFragment).map((f) => f.content), ["4"])
      const last = events[events.length - 1]
      assert.strictEqual(last?._tag === "Result" ? last.result.stats.stopReason : undefined, "stopStringFound")
      assert.deepStrictEqual(creates(server)[0]?.creationParameter.predictionConfigStack.layers[0].config.fields, [
        { key: "llm.prediction.stopStrings", value: [";"] }
      ])
    }))
})

describe("structured output", () => {
  const Person = Schema.Struct({ name: Schema.String, age: Schema.Number })

  it.scopedLive("a Schema is sent as its JSON Schema and the answer decoded into a typed parsed", () =>
    Effect.gen(function*() {
      const { model, server } = yield* setup(answer(["{\"name\":", "\"Ada\",", "\"age\":36}"]))
      const result = yield* model.respond("Who?", { structured: Person, config: { maxTokens: 100 } })
      const person: { readonly name: string; readonly age: number } = result.parsed
      assert.deepStrictEqual(person, { name: "Ada", age: 36 })
      const fields = creates(server)[0]?.creationParameter.predictionConfigStack.layers[0].config.fields
      assert.deepStrictEqual(fields.map((f: Frame) => f.key), ["llm.prediction.maxPredictedTokens", "llm.prediction.structured"])
      assert.deepStrictEqual(fields[1].value, {
        type: "json",
        jsonSchema: {
          $schema: "http://json-schema.org/draft-07/schema#",
          type: "object",
          required: ["name", "age"],
          properties: { name: { type: "string" }, age: { type: "number" } },
          additionalProperties: false
        }
      })
    }))

  it.scopedLive("an answer that does not match is a StructuredOutputError carrying the raw text", () =>
    Effect.gen(function*() {
      const { model } = yield* setup(answer(["{\"name\":", "\"Ada\"}"]))
      const error = yield* Effect.flip(model.respond("Who?", { structured: Person }))
      assert.strictEqual(error._tag, "StructuredOutputError")
      if (error._tag === "StructuredOutputError") {
        assert.strictEqual(error.content, "{\"name\":\"Ada\"}")
        assert.include(error.detail, "age")
      }
    }))

  it.scopedLive("a deeply nested answer is a StructuredOutputError, not a stack overflow", () =>
    Effect.gen(function*() {
      const deep = "[".repeat(20_000) + "]".repeat(20_000)
      const { model } = yield* setup(answer([deep]))
      const error = yield* Effect.flip(model.respond("Who?", { structured: Person }))
      assert.strictEqual(error._tag, "StructuredOutputError")
      assert.isBelow(error.message.length, 5_000)
    }))

  it.scopedLive("a JSON Schema object is sent as is and parsed as plain JSON", () =>
    Effect.gen(function*() {
      const { model, server } = yield* setup(answer(["[1,", "2]"]))
      const jsonSchema = { type: "array", items: { type: "number" } }
      const result = yield* model.complete("numbers:", { structured: jsonSchema })
      assert.deepStrictEqual(result.parsed, [1, 2])
      const fields = creates(server)[0]?.creationParameter.predictionConfigStack.layers[0].config.fields
      assert.deepStrictEqual(fields, [
        { key: "llm.prediction.stopStrings", value: [] },
        { key: "llm.prediction.structured", value: { type: "json", jsonSchema } }
      ])
    }))
})

describe("applyPromptTemplate", () => {
  it.scopedLive("sends the chat with an empty stack and returns the formatted text", () =>
    Effect.gen(function*() {
      const { model, server } = yield* setup(answer(HELLO))
      const formatted = yield* model.applyPromptTemplate("Hi", { omitBosToken: true })
      assert.include(formatted, "<|im_start|>assistant")
      const call = server.llmFrames.find((f) => f.type === "rpcCall" && f.endpoint === "applyPromptTemplate")
      assert.deepStrictEqual(call?.parameter, {
        specifier: { type: "instanceReference", instanceReference: "b1c2d3e4" },
        history: { messages: [{ role: "user", content: [{ type: "text", text: "Hi" }] }] },
        predictionConfigStack: { layers: [] },
        opts: { omitBosToken: true }
      })
    }))
})

describe("cancellation leaves nothing generating", () => {
  it.scopedLive("interrupted before the first fragment: cancel follows the create, the server answers userStopped", () =>
    Effect.gen(function*() {
      const { model, server } = yield* setup(answer(HELLO), 50)
      const fiber = yield* Effect.fork(model.respond("hi"))
      yield* until(() => creates(server).length === 1)
      yield* Fiber.interrupt(fiber)
      assert.strictEqual(server.predictions[0]?.sentFragments, 0)
      assert.isTrue(server.predictions[0]?.cancelled)
      assert.isFalse(server.busy())
      assert.deepStrictEqual(server.llmFrames.slice(-2).map((f) => f.type), ["channelCreate", "channelSend"])
      assert.deepStrictEqual(warnings(server), [])
    }))

  it.scopedLive("interrupted mid-stream (after the first token)", () =>
    Effect.gen(function*() {
      const { model, server } = yield* setup(answer(["a", "b", "c", "d", "e", "f", "g", "h"]), 10)
      const firstToken = yield* Deferred.make<void>()
      const fiber = yield* Effect.fork(model.respond("hi", { onFirstToken: () => Deferred.succeed(firstToken, void 0) }))
      yield* Deferred.await(firstToken)
      yield* Fiber.interrupt(fiber)
      assert.isTrue(server.predictions[0]?.cancelled)
      assert.isFalse(server.busy())
      assert.isBelow(server.predictions[0]!.sentFragments, 8)
      assert.deepStrictEqual(warnings(server), [])
    }))

  it.scopedLive("a Stream consumer that stops early cancels the prediction", () =>
    Effect.gen(function*() {
      const { model, server } = yield* setup(answer(["a", "b", "c", "d", "e", "f", "g", "h"]), 10)
      const taken = yield* model.respondStream("hi").pipe(Stream.filter(Prediction.isFragment), Stream.take(2), Stream.runCollect)
      assert.deepStrictEqual(Chunk.toReadonlyArray(taken).map((f) => f.content), ["a", "b"])
      assert.strictEqual(cancels(server).length, 1)
      assert.isFalse(server.busy())
      assert.deepStrictEqual(warnings(server), [])
    }))

  it.scopedLive("racing success: once the result is in, nothing is cancelled", () =>
    Effect.gen(function*() {
      const { model, server } = yield* setup(answer(HELLO), 1)
      const fiber = yield* Effect.fork(model.respond("hi"))
      const result = yield* Fiber.join(fiber)
      yield* Fiber.interrupt(fiber)
      assert.strictEqual(result.content, "Assistant message 2")
      assert.deepStrictEqual(cancels(server), [])
      // Interrupts racing the last packets: every outcome leaves the server idle and unwarned.
      for (let i = 0; i < 10; i++) {
        const racer = yield* Effect.fork(model.respond("hi"))
        yield* Effect.promise(() => new Promise((r) => setTimeout(r, i)))
        yield* Fiber.interrupt(racer)
      }
      yield* until(() => !server.busy())
      assert.deepStrictEqual(warnings(server), [])
    }))

  it.scopedLive("a server that ignores cancel still ends the channel; the interrupt returns after it", () =>
    Effect.gen(function*() {
      const { model, server } = yield* setup({ _tag: "IgnoreCancel", fragments: ["a", "b", "c"] }, 5)
      const fiber = yield* Effect.fork(model.respond("hi"))
      yield* until(() => creates(server).length === 1)
      yield* Fiber.interrupt(fiber)
      assert.isFalse(server.busy())
      assert.deepStrictEqual(warnings(server), [])
    }))
})

/** Real time, for waiting inside a TestClock test. */
const liveClock = Layer.setClock(Clock.make())

describe("a consumer that stops after the prediction finished", () => {
  it.scopedLive("success arrived but the channel is not closed yet: no cancel, no wait for the close", () =>
    Effect.gen(function*() {
      const stats = { stopReason: "eosFound", promptTokensCount: 1, predictedTokensCount: 3, totalTokensCount: 4 }
      const cancels: Array<number> = []
      const server = yield* listen(acceptAll((peer, raw) => {
        const frame = raw as { type?: string; callId?: number; channelId?: number; message?: { type?: string } }
        if (frame.type === "rpcCall") peer.send({ type: "rpcResult", callId: frame.callId, result: PredictServer.INSTANCE })
        if (frame.type === "channelSend" && frame.message?.type === "cancel") cancels.push(frame.channelId!)
        if (frame.type !== "channelCreate") return
        const channelId = frame.channelId
        for (const content of ["a", "b", "c"]) {
          peer.send({
            type: "channelSend",
            channelId,
            message: { type: "fragment", fragment: { content, tokensCount: 1, containsDrafted: false, reasoningType: "none", isStructural: false } }
          })
        }
        peer.send({
          type: "channelSend",
          channelId,
          message: { type: "success", stats, modelInfo: PredictServer.INSTANCE, loadModelConfig: { fields: [] }, predictionConfig: { fields: [] } }
        })
        // The close comes much later: a client that waited for it would be held up.
        setTimeout(() => peer.send({ type: "channelClose", channelId }), 3_000)
      }))
      const client = yield* LMStudioClient.make({ baseUrl: server.url })
      const model = yield* client.llm.model()
      const taken = yield* Stream.runCollect(Stream.take(model.respondStream("x"), 1)).pipe(Effect.timeoutOption("1 second"))
      assert.isTrue(Option.isSome(taken), "returned without waiting for the channel's close")
      yield* Effect.sleep("50 millis")
      assert.deepStrictEqual(cancels, [])
    }))
})

describe("timeouts and failures", () => {
  it.scoped("no packet for predictionInactivityTimeout (TestClock): cancelled, PredictionTimeoutError with the partial text", () =>
    Effect.gen(function*() {
      const { model, server } = yield* setup({ _tag: "Stall", afterFragments: ["Hel", "lo"] })
      const fiber = yield* Effect.fork(Effect.flip(model.respond("hi", { predictionInactivityTimeout: "30 seconds" })))
      yield* until(() => server.predictions[0]?.sentFragments === 2)
      yield* TestClock.adjust("29 seconds")
      assert.isNull(fiber.unsafePoll())
      yield* TestClock.adjust("1 second")
      const error = yield* Fiber.join(fiber)
      assert.strictEqual(error._tag, "PredictionTimeoutError")
      if (error._tag === "PredictionTimeoutError") {
        assert.strictEqual(error.content, "Hello")
        assert.strictEqual(error.inactivityMillis, 30_000)
      }
      assert.isTrue(server.predictions[0]?.cancelled)
      assert.isFalse(server.busy())
    }))

  it.scoped("a shorter timeout that starts while the sweeper is about to sleep is not missed (TestClock)", () =>
    Effect.gen(function*() {
      const { model, server } = yield* setup({ _tag: "Stall" })
      const long = yield* Effect.fork(model.respond("a", { predictionInactivityTimeout: "20 seconds" }))
      // One yield: the short prediction starts watching while the sweeper is between its look
      // (next check in 20 s) and its wait.
      const short = yield* Effect.fork(
        Effect.zipRight(Effect.yieldNow(), Effect.flip(model.respond("b", { predictionInactivityTimeout: "1 second" })))
      )
      yield* until(() => server.predictions.length === 2)
      yield* TestClock.adjust("1 second")
      const error = yield* Fiber.join(short).pipe(Effect.timeoutOption("2 seconds"), Effect.provide(liveClock))
      assert.isTrue(Option.isSome(error), "the 1 s timeout fired at 1 s, not at the 20 s one's deadline")
      assert.strictEqual(Option.getOrThrow(error)._tag, "PredictionTimeoutError")
      yield* Fiber.interrupt(long)
    }))

  it.scoped("the client-wide default applies when the call gives none (5 minutes)", () =>
    Effect.gen(function*() {
      const { model, server } = yield* setup({ _tag: "Stall" })
      const fiber = yield* Effect.fork(Effect.flip(model.respond("hi")))
      yield* until(() => server.predictions.length === 1)
      yield* TestClock.adjust("5 minutes")
      const error = yield* Fiber.join(fiber)
      assert.strictEqual(error._tag, "PredictionTimeoutError")
    }))

  it.scopedLive("stopReason failed: PredictionFailedError with the partial text, not a truncated answer", () =>
    Effect.gen(function*() {
      const { model } = yield* setup(answer(["Par", "tial"], { stopReason: "failed" }))
      const error = yield* Effect.flip(model.respond("hi"))
      assert.strictEqual(error._tag, "PredictionFailedError")
      if (error._tag === "PredictionFailedError") {
        assert.strictEqual(error.content, "Partial")
        assert.strictEqual(error.stopReason, "failed")
      }
    }))

  it.scopedLive("stopReason modelUnloaded fails the stream too", () =>
    Effect.gen(function*() {
      const { model } = yield* setup(answer(["Par"], { stopReason: "modelUnloaded" }))
      const error = yield* Effect.flip(Stream.runDrain(model.respondStream("hi")))
      assert.strictEqual(error._tag, "PredictionFailedError")
      assert.include(error.message, "unloaded")
    }))

  it.scopedLive("a handle whose instance is gone fails promptly with ModelNotFoundError", () =>
    Effect.gen(function*() {
      const { model } = yield* setup({ _tag: "ChannelError", code: "generic.noModelMatchingQuery", title: "No model found" })
      const error = yield* Effect.flip(model.respond("hi"))
      assert.strictEqual(error._tag, "ModelNotFoundError")
      assert.include(error.message, "already been unloaded")
      const streamError = yield* Effect.flip(Stream.runDrain(model.completeStream("hi")))
      assert.strictEqual(streamError._tag, "ModelNotFoundError")
    }))
})

describe("bad input is rejected before any frame", () => {
  const cases: ReadonlyArray<readonly [string, string, (model: any) => Effect.Effect<unknown, any>]> = [
    ["an empty chat", "chat", (m) => m.respond([])],
    ["an empty Chat", "chat", (m) => m.respond(Chat.empty)],
    ["an unknown role", "chat[0].role", (m) => m.respond([{ role: "robot", content: "x" }])],
    ["content that is not a string", "chat[1].content", (m) => m.respond([{ role: "user", content: "x" }, { role: "user", content: 1 }])],
    ["an unknown message field", "chat.text", (m) => m.respond({ role: "user", text: "x" })],
    ["an image that is not a FileHandle", "chat[0].images[0]", (m) => m.respond([{ role: "user", content: "x", images: ["a.png"] }])],
    ["a prompt that is not a string", "prompt", (m) => m.complete(42)],
    ["sampling options outside config", "temperature", (m) => m.respond("x", { temperature: 0 })],
    ["a bad config value", "config.temperature", (m) => m.respond("x", { config: { temperature: -1 } })],
    ["an unknown config key", "config.temprature", (m) => m.respond("x", { config: { temprature: 0 } })],
    ["structured that is neither Schema nor JSON Schema", "structured", (m) => m.respond("x", { structured: "json" })],
    ["structured both as an option and in config", "structured", (m) =>
      m.respond("x", { structured: { type: "object" }, config: { structured: { type: "json" } } })],
    ["an empty preset", "preset", (m) => m.respond("x", { preset: "" })],
    ["a non-positive timeout", "predictionInactivityTimeout", (m) => m.respond("x", { predictionInactivityTimeout: 0 })],
    ["a callback that is not a function", "onFragment", (m) => m.respond("x", { onFragment: 1 })],
    ["callbacks on a stream", "onFragment", (m) => Stream.runDrain(m.respondStream("x", { onFragment: () => Effect.void }))],
    ["a bad applyPromptTemplate option", "omitBosToken", (m) => m.applyPromptTemplate("x", { omitBosToken: "yes" })]
  ]
  for (const [name, field, call] of cases) {
    it.scopedLive(`${name}: InvalidArgumentError naming ${field}`, () =>
      Effect.gen(function*() {
        const { model, server } = yield* setup(answer(HELLO))
        const before = server.llmFrames.length
        const error = yield* Effect.flip(call(model))
        assert.strictEqual(error._tag, "InvalidArgumentError")
        assert.strictEqual(error.field, field)
        assert.strictEqual(server.llmFrames.length, before)
      }))
  }
})

describe("spans", () => {
  it.scopedLive("LMStudio.llm.respond / respondStream carry the model and token counts, never the prompt", () =>
    Effect.gen(function*() {
      const { model } = yield* setup(answer(HELLO))
      const { spans, tracer } = recordingTracer()
      yield* Effect.gen(function*() {
        yield* model.respond("a secret prompt")
        yield* Stream.runDrain(model.completeStream("another secret prompt"))
      }).pipe(Effect.withTracer(tracer))
      const ended = spans.filter((span) => span.ended)
      const respond = ended.find((s) => s.name === "LMStudio.llm.respond")
      const stream = ended.find((s) => s.name === "LMStudio.llm.completeStream")
      assert.isDefined(respond)
      assert.isDefined(stream)
      for (const span of [respond!, stream!]) {
        assert.strictEqual(span.attributes.get("lmstudio.identifier"), PredictServer.INSTANCE.identifier)
        assert.strictEqual(span.attributes.get("lmstudio.model_key"), PredictServer.INSTANCE.modelKey)
        assert.strictEqual(span.attributes.get("lmstudio.prompt_tokens"), 41)
        assert.strictEqual(span.attributes.get("lmstudio.predicted_tokens"), 5)
        assert.notInclude(JSON.stringify([...span.attributes]), "secret")
      }
    }))
})

describe("Chat values", () => {
  it("data-first and data-last appends give equal chats; the original never changes", () => {
    const base = Chat.make(Chat.system("Be terse."))
    const piped = base.pipe(Chat.appendUser("Hi"), Chat.appendAssistant("Hello."), Chat.append({ role: "user", content: "Bye" }))
    const direct = Chat.append(Chat.appendAssistant(Chat.appendUser(base, "Hi"), "Hello."), Chat.user("Bye"))
    assert.isTrue(Equal.equals(piped, direct))
    assert.strictEqual(Hash.hash(piped), Hash.hash(direct))
    assert.isFalse(Equal.equals(piped, base))
    assert.strictEqual(base.messages.length, 1)
    assert.deepStrictEqual(piped.messages.map((m) => m.role), ["system", "user", "assistant", "user"])
    assert.isTrue(Equal.equals(Chat.empty, Chat.make()))
  })

  it("a chat round-trips through its Schema (e.g. to store a conversation)", () => {
    const image = new FileHandle({ name: "dot.png", identifier: "1-dot.png", type: "image", sizeBytes: 68 })
    const chat = Chat.make(Chat.user("What is this?", { images: [image] }), Chat.assistant("A dot."))
    const json = JSON.parse(JSON.stringify(Schema.encodeSync(Chat.Chat)(chat)))
    const back = Schema.decodeUnknownSync(Chat.Chat)(json)
    assert.isTrue(Equal.equals(back, chat))
    assert.isTrue(Chat.isChat(back))
  })
})
