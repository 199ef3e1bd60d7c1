/**
 * Tool round trips through `@effect/ai`: the model calls a `Toolkit` tool, its handler runs, and
 * the call and its result go back to LM Studio (as the official clients' `act` sends them) for
 * the model's final answer.
 */
import * as AiError from "@effect/ai/AiError"
import * as LanguageModel from "@effect/ai/LanguageModel"
import * as Prompt from "@effect/ai/Prompt"
import * as Tool from "@effect/ai/Tool"
import * as Tokenizer from "@effect/ai/Tokenizer"
import * as Toolkit from "@effect/ai/Toolkit"
import { assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { LMStudioClient } from "lmstudio-effect"
import { LMStudioLanguageModel } from "lmstudio-effect/ai"
import { aiSimulator, received } from "./support/aiSimulator.js"
import * as PredictServer from "./support/predictServer.js"

const LLAMA = "llama-3.2-1b-instruct"

const GetWeather = Tool.make("GetWeather", {
  description: "The weather in a city",
  parameters: { city: Schema.String },
  success: Schema.Struct({ celsius: Schema.Number })
})
const Tools = Toolkit.make(GetWeather)
const handlers = Tools.toLayer({ GetWeather: () => Effect.succeed({ celsius: 21 }) })

const lastHistory = (frames: ReadonlyArray<{ readonly creationParameter?: any }>) => frames.at(-1)?.creationParameter?.history?.messages

describe("LMStudioLanguageModel tool round trips", () => {
  it.scopedLive("generateText: call, handler, then the final answer from the tool's result", () =>
    Effect.gen(function*() {
      const { sim, provide } = yield* aiSimulator()
      const layer = Layer.merge(provide(LMStudioLanguageModel.model(LLAMA)), handlers)
      const question = Prompt.make("Use GetWeather for Paris")
      const call = yield* LanguageModel.generateText({ prompt: question, toolkit: Tools }).pipe(Effect.provide(layer))
      assert.strictEqual(call.finishReason, "tool-calls")
      assert.strictEqual(call.toolResults[0]?.result.celsius, 21)
      const request = call.toolCalls[0]!

      const final = yield* LanguageModel.generateText({
        prompt: Prompt.merge(question, Prompt.fromResponseParts(call.content)),
        toolkit: Tools
      }).pipe(Effect.provide(layer))
      assert.deepStrictEqual(final.toolCalls, [])
      assert.strictEqual(final.finishReason, "stop")
      assert.include(final.text, "GetWeather returned")
      assert.include(final.text, "21")

      // The history went out as `act` sends it: the assistant's text and its call, then the result.
      const history = lastHistory(yield* received(sim, "predict"))
      assert.deepStrictEqual(history.map((m: { role: string }) => m.role), ["user", "assistant", "tool"])
      assert.deepStrictEqual(history[1].content.at(-1), {
        type: "toolCallRequest",
        toolCallRequest: { type: "function", id: request.id, name: "GetWeather", arguments: request.params }
      })
      assert.deepStrictEqual(history[2].content, [
        { type: "toolCallResult", content: JSON.stringify({ celsius: 21 }), toolCallId: request.id, name: "GetWeather" }
      ])
    }))

  it.scopedLive("streamText: the same round trip from the streamed parts", () =>
    Effect.gen(function*() {
      const { provide } = yield* aiSimulator()
      const layer = Layer.merge(provide(LMStudioLanguageModel.model(LLAMA)), handlers)
      const question = Prompt.make("Use GetWeather for Paris")
      const parts = Chunk.toReadonlyArray(
        yield* LanguageModel.streamText({ prompt: question, toolkit: Tools }).pipe(Stream.runCollect, Effect.provide(layer))
      )
      assert.isTrue(parts.some((part) => part.type === "tool-result"))
      const answer = yield* LanguageModel.streamText({
        prompt: Prompt.merge(question, Prompt.fromResponseParts(parts)),
        toolkit: Tools
      }).pipe(
        Stream.runFold("", (text, part) => part.type === "text-delta" ? text + part.delta : text),
        Effect.provide(layer)
      )
      assert.include(answer, "GetWeather returned")
    }))

  it.scopedLive("a history from elsewhere: several results in one tool message, a failed call as {error}", () =>
    Effect.gen(function*() {
      const { sim, provide } = yield* aiSimulator()
      const prompt = Prompt.make([
        { role: "user", content: "Weather in Paris and Oslo?" },
        {
          role: "assistant",
          content: [
            { type: "text", text: "Checking." },
            { type: "tool-call", id: "a", name: "GetWeather", params: { city: "Paris" }, providerExecuted: false },
            { type: "tool-call", id: "b", name: "GetWeather", params: { city: "Oslo" }, providerExecuted: false }
          ]
        },
        {
          role: "tool",
          content: [
            { type: "tool-result", id: "a", name: "GetWeather", isFailure: false, result: { celsius: 21 }, providerExecuted: false },
            { type: "tool-result", id: "b", name: "GetWeather", isFailure: true, result: "no station", providerExecuted: false }
          ]
        }
      ])
      const answer = yield* LanguageModel.generateText({ prompt }).pipe(Effect.provide(provide(LMStudioLanguageModel.model(LLAMA))))
      assert.include(answer.text, "returned")
      const history = lastHistory(yield* received(sim, "predict"))
      assert.deepStrictEqual(history[1].content, [
        { type: "text", text: "Checking." },
        { type: "toolCallRequest", toolCallRequest: { type: "function", id: "a", name: "GetWeather", arguments: { city: "Paris" } } },
        { type: "toolCallRequest", toolCallRequest: { type: "function", id: "b", name: "GetWeather", arguments: { city: "Oslo" } } }
      ])
      assert.deepStrictEqual(history[2], {
        role: "tool",
        content: [
          { type: "toolCallResult", content: "{\"celsius\":21}", toolCallId: "a", name: "GetWeather" },
          { type: "toolCallResult", content: "{\"error\":\"no station\"}", toolCallId: "b", name: "GetWeather" }
        ]
      })
    }))

  it.scopedLive("what LM Studio's history cannot hold fails with MalformedInput before a prediction", () =>
    Effect.gen(function*() {
      const { sim, provide } = yield* aiSimulator()
      const layer = provide(LMStudioLanguageModel.model(LLAMA))
      const cases: ReadonlyArray<readonly [Prompt.RawInput, string]> = [
        [[{
          role: "assistant",
          content: [{ type: "tool-call", id: "x", name: "Search", params: "not an object", providerExecuted: false }]
        }], "must be an object"],
        [[{ role: "user", content: [{ type: "file", mediaType: "image/png", data: "https://example.com/cat.png" }] }], "given by URL"],
        // An image comes first: nothing is uploaded when a later message is refused.
        [[
          { role: "user", content: [{ type: "file", mediaType: "image/png", data: new Uint8Array([137, 80, 78, 71]) }] },
          {
            role: "tool",
            content: [{ type: "tool-result", id: "y", name: "Count", isFailure: false, result: 1n, providerExecuted: false }]
          }
        ], "is not JSON"]
      ]
      for (const [prompt, expected] of cases) {
        const error = yield* Effect.flip(LanguageModel.generateText({ prompt }).pipe(Effect.provide(layer)))
        assert.instanceOf(error, AiError.MalformedInput)
        assert.include(error.message, expected)
      }
      assert.deepStrictEqual(yield* received(sim, "predict"), [])
      assert.deepStrictEqual(yield* received(sim, "uploadFileBase64"), [])
    }))
})

describe("LMStudioLanguageModel requests", () => {
  it.scopedLive("tools another provider ran itself are left out of the history", () =>
    Effect.gen(function*() {
      const { sim, provide } = yield* aiSimulator()
      const prompt = Prompt.make([
        { role: "user", content: "Search the web" },
        {
          role: "assistant",
          content: [
            { type: "text", text: "Found it." },
            { type: "tool-call", id: "ws", name: "web_search", params: { q: "x" }, providerExecuted: true },
            { type: "tool-result", id: "ws", name: "web_search", isFailure: false, result: "…", providerExecuted: true }
          ]
        },
        { role: "user", content: "Thanks" }
      ])
      yield* LanguageModel.generateText({ prompt }).pipe(Effect.provide(provide(LMStudioLanguageModel.model(LLAMA))))
      const history = lastHistory(yield* received(sim, "predict"))
      assert.deepStrictEqual(history[1], { role: "assistant", content: [{ type: "text", text: "Found it." }] })
    }))

  it.scopedLive("a Schema with no JSON Schema form, or another provider's tool, is MalformedInput; nothing is sent", () =>
    Effect.gen(function*() {
      const { sim, provide } = yield* aiSimulator()
      const layer = Layer.merge(provide(LMStudioLanguageModel.model(LLAMA)), handlers)
      const png = { type: "file", mediaType: "image/png", data: new Uint8Array([137, 80, 78, 71]) } as const
      const prompt = Prompt.make([{ role: "user", content: [{ type: "text", text: "Use GetWeather" }, png] }])
      const objectError = yield* Effect.flip(
        LanguageModel.generateObject({ prompt, schema: Schema.Struct({ when: Schema.DateFromSelf }) }).pipe(Effect.provide(layer))
      )
      assert.instanceOf(objectError, AiError.MalformedInput)
      assert.include(objectError.message, "response format")
      const Stamp = Tool.make("Stamp", { parameters: { at: Schema.DateFromSelf } })
      const StampTools = Toolkit.make(Stamp)
      const toolError = yield* Effect.flip(
        LanguageModel.generateText({ prompt, toolkit: StampTools }).pipe(
          Effect.provide(Layer.merge(layer, StampTools.toLayer({ Stamp: () => Effect.void })))
        )
      )
      assert.instanceOf(toolError, AiError.MalformedInput)
      assert.include(toolError.description, "tool \"Stamp\"")
      const Search = Tool.providerDefined({
        id: "openai.web_search",
        toolkitName: "WebSearch",
        providerName: "web_search",
        args: {}
      })
      const SearchTools = Toolkit.make(Search({}))
      const providerError = yield* Effect.flip(
        LanguageModel.generateText({ prompt: "Search", toolkit: SearchTools }).pipe(Effect.provide(layer))
      )
      assert.instanceOf(providerError, AiError.MalformedInput)
      assert.include(providerError.message, "another provider")
      // A bad config is refused before the prompt's image is uploaded.
      const configError = yield* Effect.flip(LanguageModel.generateText({ prompt }).pipe(
        Effect.provide(provide(LMStudioLanguageModel.model(LLAMA, { config: { temperature: -1 } })))
      ))
      assert.instanceOf(configError, AiError.MalformedInput)
      assert.deepStrictEqual(yield* received(sim, "uploadFileBase64"), [])
      assert.deepStrictEqual(yield* received(sim, "predict"), [])
    }))

  it.scopedLive("toolChoice: auto leaves LM Studio's default; required and { mode, oneOf } are sent", () =>
    Effect.gen(function*() {
      const { sim, provide } = yield* aiSimulator()
      const Ping = Tool.make("Ping", {})
      const Both = Toolkit.make(GetWeather, Ping)
      const layer = Layer.merge(
        provide(LMStudioLanguageModel.model(LLAMA)),
        Both.toLayer({ GetWeather: () => Effect.succeed({ celsius: 21 }), Ping: () => Effect.void })
      )
      const sent = Effect.map(received(sim, "predict"), (frames) => {
        const fields: ReadonlyArray<{ key: string; value: any }> = frames.at(-1)?.creationParameter.predictionConfigStack.layers
          .flatMap((layer: { config: { fields: ReadonlyArray<unknown> } }) => layer.config.fields)
        return {
          choice: fields.find((f) => f.key === "llm.prediction.toolChoice")?.value,
          tools: fields.find((f) => f.key === "llm.prediction.tools")?.value.tools.map((t: any) => t.function.name)
        }
      })
      yield* LanguageModel.generateText({ prompt: "Hi", toolkit: Both }).pipe(Effect.provide(layer))
      assert.deepStrictEqual(yield* sent, { choice: undefined, tools: ["GetWeather", "Ping"] })
      const required = yield* LanguageModel.generateText({ prompt: "Hi", toolkit: Both, toolChoice: "required" }).pipe(
        Effect.provide(layer)
      )
      assert.deepStrictEqual(yield* sent, { choice: { type: "generic", mode: "required" }, tools: ["GetWeather", "Ping"] })
      assert.strictEqual(required.toolCalls[0]?.name, "GetWeather")
      const oneOf = yield* LanguageModel.generateText({
        prompt: "Hi",
        toolkit: Both,
        toolChoice: { mode: "required", oneOf: ["Ping"] }
      }).pipe(Effect.provide(layer))
      assert.deepStrictEqual(yield* sent, { choice: { type: "generic", mode: "required" }, tools: ["Ping"] })
      // A tool without parameters is called with {}.
      assert.deepStrictEqual(oneOf.toolCalls.map((call) => [call.name, call.params]), [["Ping", {}]])
    }))

  it.scopedLive("finish carries LM Studio's own stop reason and speed as metadata.lmstudio", () =>
    Effect.gen(function*() {
      const { provide } = yield* aiSimulator()
      const response = yield* LanguageModel.generateText({ prompt: "Hi" }).pipe(
        Effect.provide(provide(LMStudioLanguageModel.model(LLAMA, { config: { maxTokens: 3 } })))
      )
      const finish = response.content.find((part) => part.type === "finish")
      assert.strictEqual(finish?.reason, "length")
      assert.strictEqual(finish?.metadata.lmstudio?.stopReason, "maxPredictedTokensReached")
      assert.isNumber(finish?.metadata.lmstudio?.tokensPerSecond)
    }))

  it.scopedLive("interrupting generateText cancels the prediction; a failed prediction is UnknownError with our cause", () =>
    Effect.gen(function*() {
      const { sim, provide } = yield* aiSimulator({ tokenMs: 5 })
      const layer = yield* Layer.build(provide(LMStudioLanguageModel.model(LLAMA)))
      yield* sim.faults.stallPredictionAfter(1)
      const fiber = yield* Effect.fork(LanguageModel.generateText({ prompt: "Hi" }).pipe(Effect.provide(layer)))
      for (let i = 0; i < 400 && (yield* sim.activePredictions) === 0; i++) yield* Effect.sleep("5 millis")
      yield* Fiber.interrupt(fiber)
      for (let i = 0; i < 400 && (yield* sim.activePredictions) > 0; i++) yield* Effect.sleep("5 millis")
      assert.strictEqual(yield* sim.activePredictions, 0)
      assert.isAbove((yield* received(sim, "predict")).length, 0)

      yield* sim.faults.failPredictionAfter(2)
      const error = yield* Effect.flip(
        LanguageModel.streamText({ prompt: "Tell me a story" }).pipe(Stream.runDrain, Effect.provide(layer))
      )
      assert.instanceOf(error, AiError.UnknownError)
      assert.strictEqual((error.cause as { _tag?: string })._tag, "PredictionFailedError")
    }))

  it.scopedLive("modelWithTokenizer: LanguageModel and Tokenizer on one instance", () =>
    Effect.gen(function*() {
      const { sim, provide } = yield* aiSimulator()
      const [tokens, answer] = yield* Effect.all([
        Effect.flatMap(Tokenizer.Tokenizer, (tokenizer) => tokenizer.tokenize("Hi")),
        LanguageModel.generateText({ prompt: "Hi" })
      ], { concurrency: "unbounded" }).pipe(
        Effect.provide(provide(LMStudioLanguageModel.modelWithTokenizer(LLAMA, { unloadOnClose: true })))
      )
      assert.isAbove(tokens.length, 0)
      assert.isAbove(answer.text.length, 0)
      assert.deepStrictEqual(yield* sim.loaded, [])
      assert.strictEqual((yield* received(sim, "getOrLoad")).length, 1)
    }))
})

describe("LMStudioLanguageModel tool-call parts from a scripted server", () => {
  const packet = (type: string, fields: Record<string, unknown> = {}) => ({ type, ...fields })

  it.scopedLive("arguments before the name are held back; a failed call still ends its params; every start has an end", () =>
    Effect.gen(function*() {
      const server = yield* PredictServer.make({
        _tag: "Answer",
        fragments: ["done"],
        stopReason: "toolCalls",
        extra: [
          // A model without eager name reporting: the name comes with the end.
          packet("toolCallGenerationStart", { toolCallId: "a" }),
          packet("toolCallGenerationArgumentFragmentGenerated", { content: "{\"city\":" }),
          packet("toolCallGenerationArgumentFragmentGenerated", { content: "\"Oslo\"}" }),
          packet("toolCallGenerationEnd", { toolCallRequest: { type: "function", id: "a", name: "GetWeather", arguments: { city: "Oslo" } } }),
          // A call that does not parse.
          packet("toolCallGenerationStart", { toolCallId: "b" }),
          packet("toolCallGenerationNameReceived", { name: "GetWeather" }),
          packet("toolCallGenerationArgumentFragmentGenerated", { content: "{oops" }),
          packet("toolCallGenerationFailed", { error: { title: "bad JSON" }, rawContent: "{oops" }),
          // A call whose end the client drops (no name): the stream's end closes it.
          packet("toolCallGenerationStart", { toolCallId: "c" }),
          packet("toolCallGenerationNameReceived", { name: "GetWeather" }),
          packet("toolCallGenerationEnd", { toolCallRequest: { type: "function", name: "" } })
        ]
      }, 0)
      const client = yield* LMStudioClient.make({ baseUrl: server.url })
      const handle = yield* client.llm.model()
      const parts = Chunk.toReadonlyArray(yield* LanguageModel.streamText({ prompt: "Weather?", toolkit: Tools }).pipe(
        Stream.runCollect,
        Effect.provide(Layer.merge(
          Layer.provide(LMStudioLanguageModel.model(handle), Layer.succeed(LMStudioClient, client)),
          handlers
        ))
      ))
      const tool = parts.flatMap((part) =>
        part.type.startsWith("tool-") && part.type !== "tool-result"
          ? [`${part.type} ${"id" in part ? part.id : ""}${part.type === "tool-params-delta" ? ` ${part.delta}` : ""}`]
          : []
      )
      assert.deepStrictEqual(tool, [
        "tool-params-start a",
        "tool-params-delta a {\"city\":",
        "tool-params-delta a \"Oslo\"}",
        "tool-params-end a",
        "tool-call a",
        "tool-params-start b",
        "tool-params-delta b {oops",
        "tool-params-end b",
        "tool-params-start c",
        "tool-params-end c"
      ])
      // Only the parsed call runs its handler (whenever it finishes).
      assert.deepStrictEqual(parts.flatMap((part) => part.type === "tool-result" ? [part.id] : []), ["a"])
      assert.strictEqual(parts.filter((part) => part.type === "finish").length, 1)
    }))
})

describe("LMStudioLanguageModel model source", () => {
  it.scopedLive("an identifier of a loaded instance answers with that instance, loading nothing", () =>
    Effect.gen(function*() {
      const { sim, client, provide } = yield* aiSimulator()
      const mine = yield* client.llm.loadNewInstance(LLAMA, { identifier: "my-llama" })
      const answer = yield* LanguageModel.generateText({ prompt: "Hi" }).pipe(
        Effect.provide(provide(LMStudioLanguageModel.model("my-llama")))
      )
      assert.isAbove(answer.text.length, 0)
      const loaded = yield* sim.loaded
      assert.deepStrictEqual(loaded.map((info) => info.identifier), ["my-llama"])
      const predict = (yield* received(sim, "predict")).at(-1)
      assert.deepStrictEqual(predict?.creationParameter?.modelSpecifier, {
        type: "instanceReference",
        instanceReference: mine.info.instanceReference
      })
    }))
})
