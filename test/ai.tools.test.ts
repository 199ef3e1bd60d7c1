/**
 * Tool round trips through `@effect/ai`: the model calls a `Toolkit` tool, its handler runs, and
 * the call and its result go back to LM Studio (as the official clients' `act` sends them) for
 * the model's final answer.
 */
import * as AiError from "@effect/ai/AiError"
import * as LanguageModel from "@effect/ai/LanguageModel"
import * as Prompt from "@effect/ai/Prompt"
import * as Tool from "@effect/ai/Tool"
import * as Toolkit from "@effect/ai/Toolkit"
import { assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { LMStudioLanguageModel } from "lmstudio-effect/ai"
import { aiSimulator, received } from "./support/aiSimulator.js"

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
        [[{
          role: "assistant",
          content: [{ type: "tool-result", id: "x", name: "WebSearch", isFailure: false, result: 1, providerExecuted: true }]
        }], "provider-executed"]
      ]
      for (const [prompt, expected] of cases) {
        const error = yield* Effect.flip(LanguageModel.generateText({ prompt }).pipe(Effect.provide(layer)))
        assert.instanceOf(error, AiError.MalformedInput)
        assert.include(error.message, expected)
      }
      assert.deepStrictEqual(yield* received(sim, "predict"), [])
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
