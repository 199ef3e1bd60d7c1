/**
 * The `@effect/ai` provider (`lmstudio-effect/ai`) against the simulator: programs written with
 * `LanguageModel`, `EmbeddingModel` and `Tokenizer` get what our own handles give.
 */
import * as AiError from "@effect/ai/AiError"
import * as EmbeddingModel from "@effect/ai/EmbeddingModel"
import * as LanguageModel from "@effect/ai/LanguageModel"
import * as Prompt from "@effect/ai/Prompt"
import * as Tokenizer from "@effect/ai/Tokenizer"
import * as Tool from "@effect/ai/Tool"
import * as Toolkit from "@effect/ai/Toolkit"
import { assert, describe, it } from "@effect/vitest"
import { readdirSync, readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { LMStudioEmbeddingModel, LMStudioLanguageModel, LMStudioTokenizer } from "lmstudio-effect/ai"
import { LMStudioSimulator } from "lmstudio-effect/testing"
import { aiSimulator, received } from "./support/aiSimulator.js"
import { type RecordedSpan, recordingTracer } from "./support/recordingTracer.js"

const LLAMA = "llama-3.2-1b-instruct"
const R1 = "deepseek-r1-distill-qwen-1.5b"
const VISION = "qwen2-vl-2b-instruct"
const NOMIC = "text-embedding-nomic-embed-text-v1.5"

const setup = aiSimulator

const waitIdle = (sim: LMStudioSimulator.LMStudioSimulator.Service) =>
  Effect.gen(function*() {
    for (let attempt = 0; attempt < 400; attempt++) {
      if ((yield* sim.activePredictions) === 0) return
      yield* Effect.sleep("5 millis")
    }
    assert.fail("a prediction is still generating on the simulator")
  })

describe("LMStudioLanguageModel", () => {
  it.scopedLive("generateText answers what respond answers, with usage and metadata", () =>
    Effect.gen(function*() {
      const { client, provide } = yield* setup()
      const prompt = "What is the capital of France?"
      const response = yield* LanguageModel.generateText({ prompt }).pipe(
        Effect.provide(provide(LMStudioLanguageModel.model(LLAMA)))
      )
      const own = yield* Effect.flatMap(client.llm.model(LLAMA), (model) => model.respond(prompt))
      assert.strictEqual(response.text, own.content)
      assert.strictEqual(response.finishReason, "stop")
      assert.strictEqual(response.usage.inputTokens, own.stats.promptTokensCount)
      assert.strictEqual(response.usage.outputTokens, own.stats.predictedTokensCount)
      assert.strictEqual(response.usage.totalTokens, own.stats.totalTokensCount)
      const metadata = response.content.find((part) => part.type === "response-metadata")
      assert.deepStrictEqual(metadata?.type === "response-metadata" ? metadata.modelId : undefined, Option.some(LLAMA))
    }))

  it.scopedLive("a system prompt and history go through as our chat", () =>
    Effect.gen(function*() {
      const { client, provide } = yield* setup()
      const prompt = Prompt.make([
        { role: "system", content: "You are terse." },
        { role: "user", content: "Hi" },
        { role: "assistant", content: "Hello." },
        { role: "user", content: "And again?" }
      ])
      const response = yield* LanguageModel.generateText({ prompt }).pipe(
        Effect.provide(provide(LMStudioLanguageModel.model(LLAMA)))
      )
      const own = yield* Effect.flatMap(client.llm.model(LLAMA), (model) =>
        model.respond([
          { role: "system", content: "You are terse." },
          { role: "user", content: "Hi" },
          { role: "assistant", content: "Hello." },
          { role: "user", content: "And again?" }
        ]))
      assert.strictEqual(response.text, own.content)
    }))

  it.scopedLive("streamText: metadata, text-start, deltas, text-end, finish with usage, in order", () =>
    Effect.gen(function*() {
      const { client, provide } = yield* setup()
      const parts = Chunk.toReadonlyArray(
        yield* LanguageModel.streamText({ prompt: "Hello there" }).pipe(
          Stream.runCollect,
          Effect.provide(provide(LMStudioLanguageModel.model(LLAMA)))
        )
      )
      const types = parts.map((part) => part.type)
      assert.strictEqual(types[0], "response-metadata")
      assert.strictEqual(types[1], "text-start")
      assert.deepStrictEqual(types.slice(-2), ["text-end", "finish"])
      assert.isTrue(types.slice(2, -2).every((type) => type === "text-delta"))
      const text = parts.flatMap((part) => part.type === "text-delta" ? [part.delta] : []).join("")
      const own = yield* Effect.flatMap(client.llm.model(LLAMA), (model) => model.respond("Hello there"))
      assert.strictEqual(text, own.content)
      const finish = parts[parts.length - 1]
      assert.isTrue(finish?.type === "finish")
      if (finish?.type === "finish") {
        assert.strictEqual(finish.reason, "stop")
        assert.strictEqual(finish.usage.outputTokens, own.stats.predictedTokensCount)
        assert.strictEqual(finish.usage.inputTokens, own.stats.promptTokensCount)
      }
    }))

  it.scopedLive("a reasoning model streams reasoning parts, then text; generateText separates them", () =>
    Effect.gen(function*() {
      const { provide } = yield* setup()
      const layer = provide(LMStudioLanguageModel.model(R1))
      const parts = Chunk.toReadonlyArray(
        yield* LanguageModel.streamText({ prompt: "Why is the sky blue?" }).pipe(Stream.runCollect, Effect.provide(layer))
      )
      const types = parts.map((part) => part.type)
      const reasoningEnd = types.indexOf("reasoning-end")
      assert.isAbove(reasoningEnd, types.indexOf("reasoning-start"))
      assert.isAbove(types.indexOf("text-start"), reasoningEnd)
      const reasoning = parts.flatMap((part) => part.type === "reasoning-delta" ? [part.delta] : []).join("")
      const response = yield* LanguageModel.generateText({ prompt: "Why is the sky blue?" }).pipe(Effect.provide(layer))
      assert.strictEqual(response.reasoningText, reasoning)
      assert.notInclude(response.text, "<think>")
      assert.isAbove(response.text.length, 0)
    }))

  it.scopedLive("the request's span carries GenAI attributes: system, model, settings, finish, usage", () =>
    Effect.gen(function*() {
      const { provide } = yield* setup()
      const { spans, tracer } = recordingTracer()
      const layer = provide(LMStudioLanguageModel.model(LLAMA, { config: { temperature: 0.5 } }))
      const response = yield* LanguageModel.generateText({ prompt: "Hi" }).pipe(Effect.provide(layer), Effect.withTracer(tracer))
      const streamed = Chunk.toReadonlyArray(
        yield* LanguageModel.streamText({ prompt: "Hi" }).pipe(Stream.runCollect, Effect.provide(layer), Effect.withTracer(tracer))
      )
      for (const [method, outputTokens] of [
        ["generateText", response.usage.outputTokens],
        ["streamText", streamed.flatMap((part) => part.type === "finish" ? [part.usage.outputTokens] : [])[0]]
      ] as const) {
        const span = spans.find((s) => s.name === `LanguageModel.${method}`)
        assert.isDefined(span, method)
        assert.strictEqual(span!.attributes.get("gen_ai.system"), "lmstudio")
        assert.strictEqual(span!.attributes.get("gen_ai.request.model"), LLAMA)
        assert.strictEqual(span!.attributes.get("gen_ai.request.temperature"), 0.5)
        assert.deepStrictEqual(span!.attributes.get("gen_ai.response.finish_reasons"), ["stop"])
        assert.strictEqual(span!.attributes.get("gen_ai.usage.output_tokens"), outputTokens)
      }
      // Our own spans nest under the request's span, for streams too.
      const predictions = spans.filter((s) => s.name.startsWith("LMStudio.llm.respond"))
      assert.deepStrictEqual(predictions.map((s) => s.parent), ["LanguageModel.generateText", "LanguageModel.streamText"])
    }))

  it.scopedLive("maxTokens from the provider config finishes with length", () =>
    Effect.gen(function*() {
      const { provide } = yield* setup()
      const response = yield* LanguageModel.generateText({ prompt: "Tell me a story." }).pipe(
        Effect.provide(provide(LMStudioLanguageModel.model(LLAMA, { config: { maxTokens: 3 } })))
      )
      assert.strictEqual(response.finishReason, "length")
      assert.strictEqual(response.usage.outputTokens, 3)
      const shorter = yield* LanguageModel.generateText({ prompt: "Tell me a story." }).pipe(
        LMStudioLanguageModel.withConfigOverride({ maxTokens: 2 }),
        Effect.provide(provide(LMStudioLanguageModel.model(LLAMA, { config: { maxTokens: 3 } })))
      )
      assert.strictEqual(shorter.usage.outputTokens, 2)
    }))

  it.scopedLive("generateObject decodes the structured answer with the Schema", () =>
    Effect.gen(function*() {
      const { sim, provide } = yield* setup()
      const Book = Schema.Struct({ title: Schema.String, year: Schema.Number, tags: Schema.Array(Schema.String) })
      const response = yield* LanguageModel.generateObject({ prompt: "Tell me about a book.", schema: Book }).pipe(
        Effect.provide(provide(LMStudioLanguageModel.model(LLAMA)))
      )
      assert.isString(response.value.title)
      assert.isNumber(response.value.year)
      assert.isArray(response.value.tags)
      const predict = (yield* sim.traffic).find((e) =>
        e.direction === "in" && (e.frame as any).type === "channelCreate" && (e.frame as any).endpoint === "predict"
      )
      const fields: ReadonlyArray<{ key: string; value: any }> = (predict?.frame as any).creationParameter
        .predictionConfigStack.layers.flatMap((layer: any) => layer.config.fields)
      const structured = fields.find((f) => f.key === "llm.prediction.structured")?.value
      assert.strictEqual(structured?.type, "json")
      assert.deepStrictEqual(structured?.jsonSchema?.required, ["title", "year", "tags"])
    }))

  it.scopedLive("tools: the model calls the tool the user names, and its handler runs", () =>
    Effect.gen(function*() {
      const { provide } = yield* setup()
      const GetWeather = Tool.make("GetWeather", {
        description: "The weather in a city",
        parameters: { city: Schema.String },
        success: Schema.Struct({ temperature: Schema.Number })
      })
      const Tools = Toolkit.make(GetWeather)
      const calls = yield* Ref.make<ReadonlyArray<string>>([])
      const handlers = Tools.toLayer({
        GetWeather: ({ city }) => Effect.as(Ref.update(calls, (all) => [...all, city]), { temperature: 21 })
      })
      const layer = Layer.merge(provide(LMStudioLanguageModel.model(LLAMA)), handlers)
      const response = yield* LanguageModel.generateText({ prompt: "Use GetWeather for Paris", toolkit: Tools }).pipe(
        Effect.provide(layer)
      )
      assert.strictEqual(response.toolCalls.length, 1)
      assert.strictEqual(response.toolCalls[0]?.name, "GetWeather")
      assert.strictEqual(response.finishReason, "tool-calls")
      assert.strictEqual(response.toolResults[0]?.result.temperature, 21)
      assert.deepStrictEqual(yield* Ref.get(calls), [response.toolCalls[0]!.params.city])

      const parts = Chunk.toReadonlyArray(
        yield* LanguageModel.streamText({ prompt: "Use GetWeather for Paris", toolkit: Tools }).pipe(
          Stream.runCollect,
          Effect.provide(layer)
        )
      )
      const types = parts.map((part) => part.type)
      const start = types.indexOf("tool-params-start")
      assert.isAbove(start, -1)
      assert.strictEqual(types[start + 1], "tool-params-delta")
      assert.isAbove(types.indexOf("tool-call"), types.indexOf("tool-params-end"))
      assert.isAbove(types.indexOf("tool-result"), types.indexOf("tool-call"))
      const call = parts.find((part) => part.type === "tool-call")
      const paramsText = parts.flatMap((part) => part.type === "tool-params-delta" ? [part.delta] : []).join("")
      assert.deepStrictEqual(call?.type === "tool-call" ? call.params : undefined, JSON.parse(paramsText))
      assert.strictEqual((yield* Ref.get(calls)).length, 2)
    }))

  it.scopedLive("toolChoice none: tools are offered but never called", () =>
    Effect.gen(function*() {
      const { provide } = yield* setup()
      const Ping = Tool.make("Ping", { parameters: {}, success: Schema.String })
      const Tools = Toolkit.make(Ping)
      const response = yield* LanguageModel.generateText({ prompt: "Please Ping", toolkit: Tools, toolChoice: "none" }).pipe(
        Effect.provide(Layer.merge(provide(LMStudioLanguageModel.model(LLAMA)), Tools.toLayer({ Ping: () => Effect.succeed("pong") })))
      )
      assert.strictEqual(response.toolCalls.length, 0)
      assert.strictEqual(response.finishReason, "stop")
    }))

  it.scopedLive("toolChoice { tool } offers only that tool and requires a call", () =>
    Effect.gen(function*() {
      const { sim, provide } = yield* setup()
      const Add = Tool.make("Add", { parameters: { a: Schema.Number, b: Schema.Number }, success: Schema.Number })
      const Echo = Tool.make("Echo", { parameters: { text: Schema.String }, success: Schema.String })
      const Tools = Toolkit.make(Add, Echo)
      const handlers = Tools.toLayer({ Add: ({ a, b }) => Effect.succeed(a + b), Echo: ({ text }) => Effect.succeed(text) })
      const response = yield* LanguageModel.generateText({
        prompt: "Say something.",
        toolkit: Tools,
        toolChoice: { tool: "Echo" }
      }).pipe(Effect.provide(Layer.merge(provide(LMStudioLanguageModel.model(LLAMA)), handlers)))
      assert.deepStrictEqual(response.toolCalls.map((call) => call.name), ["Echo"])
      const predict = (yield* sim.traffic).find((e) =>
        e.direction === "in" && (e.frame as any).type === "channelCreate" && (e.frame as any).endpoint === "predict"
      )
      const fields: ReadonlyArray<{ key: string; value: any }> = (predict?.frame as any).creationParameter
        .predictionConfigStack.layers.flatMap((layer: any) => layer.config.fields)
      const rawTools = fields.find((f) => f.key === "llm.prediction.tools")?.value
      assert.deepStrictEqual(rawTools?.tools.map((t: any) => t.function.name), ["Echo"])
      assert.deepStrictEqual(rawTools?.tools[0].function.parameters.required, ["text"])
    }))

  it.scopedLive("images in a user message are uploaded and sent with it", () =>
    Effect.gen(function*() {
      const { sim, provide } = yield* setup()
      const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3, 4])
      const prompt = Prompt.make([{
        role: "user",
        content: [
          { type: "text", text: "What is in this picture?" },
          { type: "file", mediaType: "image/png", fileName: "cat.png", data: png }
        ]
      }])
      const response = yield* LanguageModel.generateText({ prompt }).pipe(
        Effect.provide(provide(LMStudioLanguageModel.model(VISION)))
      )
      assert.isAbove(response.text.length, 0)
      const inbound = (yield* sim.traffic).filter((e) => e.direction === "in").map((e) => e.frame as any)
      assert.isTrue(inbound.some((f) => f.endpoint === "uploadFileBase64"))
      const predict = inbound.find((f) => f.type === "channelCreate" && f.endpoint === "predict")
      const content = predict.creationParameter.history.messages[0].content
      assert.deepStrictEqual(content.map((p: any) => p.type), ["file", "text"])
      assert.strictEqual(content[0].name, "cat.png")
    }))

  it.scopedLive("what our chats cannot carry fails with MalformedInput before a prediction", () =>
    Effect.gen(function*() {
      const { sim, provide } = yield* setup()
      const layer = provide(LMStudioLanguageModel.model(LLAMA))
      const pdf = Prompt.make([{
        role: "user",
        content: [{ type: "file", mediaType: "application/pdf", data: new Uint8Array([1]) }]
      }])
      const error = yield* Effect.flip(LanguageModel.generateText({ prompt: pdf }).pipe(Effect.provide(layer)))
      assert.instanceOf(error, AiError.MalformedInput)
      assert.include(error.message, "application/pdf")
      const badConfig = yield* Effect.flip(LanguageModel.generateText({ prompt: "Hi" }).pipe(
        Effect.provide(provide(LMStudioLanguageModel.model(LLAMA, { config: { temperature: -1 } })))
      ))
      assert.instanceOf(badConfig, AiError.MalformedInput)
      assert.include(badConfig.message, "temperature")
      const predicts = (yield* sim.traffic).filter((e) => e.direction === "in" && (e.frame as any).endpoint === "predict")
      assert.strictEqual(predicts.length, 0)
    }))

  it.scopedLive("interrupting a stream cancels the prediction on the server", () =>
    Effect.gen(function*() {
      const { sim, provide } = yield* setup({ tokenMs: 5 })
      const firstDelta = yield* LanguageModel.streamText({ prompt: "Tell me a long story." }).pipe(
        Stream.filter((part) => part.type === "text-delta"),
        Stream.take(1),
        Stream.runCollect,
        Effect.provide(provide(LMStudioLanguageModel.model(LLAMA, { config: { maxTokens: 1000 } })))
      )
      assert.strictEqual(Chunk.size(firstDelta), 1)
      yield* waitIdle(sim)
      const stopped = (yield* sim.traffic).filter((e) =>
        e.direction === "out" && (e.frame as any).message?.type === "success"
      ).map((e) => (e.frame as any).message.stats.stopReason)
      assert.deepStrictEqual(stopped, ["userStopped"])
    }))

  it.scopedLive("a handle whose model is gone fails with an AiError; a key loads the model again", () =>
    Effect.gen(function*() {
      const { client, provide } = yield* setup()
      const handle = yield* client.llm.model(LLAMA)
      const byHandle = provide(LMStudioLanguageModel.model(handle))
      const byKey = yield* Layer.build(provide(LMStudioLanguageModel.model(LLAMA)))
      yield* LanguageModel.generateText({ prompt: "Hi" }).pipe(Effect.provide(byKey))
      yield* handle.unload
      const exit = yield* Effect.exit(LanguageModel.generateText({ prompt: "Hi" }).pipe(Effect.provide(byHandle)))
      assert.isTrue(Exit.isFailure(exit))
      const error = yield* Effect.flip(LanguageModel.generateText({ prompt: "Hi" }).pipe(Effect.provide(byHandle)))
      assert.instanceOf(error, AiError.UnknownError)
      assert.strictEqual(error.module, "LMStudioLanguageModel")
      assert.strictEqual((error.cause as any)?._tag, "ModelNotFoundError")
      // The provider made by key had resolved the same instance: it loads the model again.
      const again = yield* LanguageModel.generateText({ prompt: "Hi" }).pipe(Effect.provide(byKey))
      assert.isAbove(again.text.length, 0)
      const streamed = yield* LanguageModel.streamText({ prompt: "Hi" }).pipe(
        Stream.runCollect,
        Effect.provide(byKey)
      )
      assert.strictEqual(Chunk.toReadonlyArray(streamed).at(-1)?.type, "finish")
    }))

  it.scopedLive("a provider made by key streams again after its instance is unloaded", () =>
    Effect.gen(function*() {
      const { client, sim, provide } = yield* setup()
      const layer = yield* Layer.build(provide(LMStudioLanguageModel.model(LLAMA)))
      const stream = LanguageModel.streamText({ prompt: "Hi" }).pipe(Stream.runCollect, Effect.provide(layer))
      yield* stream
      yield* client.llm.unload(LLAMA)
      assert.strictEqual((yield* sim.loaded).length, 0)
      const parts = Chunk.toReadonlyArray(yield* stream)
      assert.strictEqual(parts[0]?.type, "response-metadata")
      assert.strictEqual(parts.at(-1)?.type, "finish")
      assert.deepStrictEqual((yield* sim.loaded).map((info) => info.modelKey), [LLAMA])
    }))
})

describe("unloadOnClose", () => {
  it.scopedLive("a provider made by key unloads what it loaded when its layer's scope closes, and only that", () =>
    Effect.gen(function*() {
      const { sim, provide } = yield* setup()
      const llm = provide(LMStudioLanguageModel.model(LLAMA, { unloadOnClose: true }))
      const embedder = provide(LMStudioEmbeddingModel.model(NOMIC, { unloadOnClose: true }))
      yield* LanguageModel.generateText({ prompt: "Hi" }).pipe(Effect.provide(llm))
      yield* EmbeddingModel.EmbeddingModel.pipe(Effect.flatMap((model) => model.embed("Hi")), Effect.provide(embedder))
      assert.deepStrictEqual(yield* sim.loaded, [])
      // An instance the provider did not load stays loaded.
      yield* sim.preload(LLAMA)
      yield* LanguageModel.generateText({ prompt: "Hi" }).pipe(Effect.provide(llm))
      assert.deepStrictEqual((yield* sim.loaded).map((info) => info.modelKey), [LLAMA])
      // Without the option, what the provider loads stays loaded.
      yield* EmbeddingModel.EmbeddingModel.pipe(
        Effect.flatMap((model) => model.embed("Hi")),
        Effect.provide(provide(LMStudioEmbeddingModel.model(NOMIC)))
      )
      assert.include((yield* sim.loaded).map((info) => info.modelKey), NOMIC)
    }))
})

describe("LMStudioEmbeddingModel", () => {
  it.scopedLive("embed and embedMany give our vectors, in input order", () =>
    Effect.gen(function*() {
      const { client, provide } = yield* setup()
      const texts = ["alpha", "beta", "gamma"]
      const [one, many] = yield* Effect.gen(function*() {
        const model = yield* EmbeddingModel.EmbeddingModel
        return [yield* model.embed("alpha"), yield* model.embedMany(texts)] as const
      }).pipe(Effect.provide(provide(LMStudioEmbeddingModel.model(NOMIC, { concurrency: 2 }))))
      const own = yield* Effect.flatMap(client.embedding.model(NOMIC), (model) => model.embed(texts))
      assert.strictEqual(one.length, 768)
      assert.deepStrictEqual(one, [...own[0]!])
      assert.deepStrictEqual(many, own.map((vector) => [...vector]))
    }))
})

const embedRpcs = (sim: LMStudioSimulator.LMStudioSimulator.Service) =>
  Effect.map(received(sim, "embedString"), (frames) => frames.length)

/** The sizes of the batches our handle was asked to embed (one `LMStudio.embedding.embed` span each). */
const batchSizes = (spans: ReadonlyArray<RecordedSpan>) =>
  spans.filter((s) => s.name === "LMStudio.embedding.embed").map((s) => s.attributes.get("lmstudio.input_count")).sort()

describe("LMStudioEmbeddingModel batching", () => {
  it.scopedLive("maxBatchSize splits an embedMany into batches of at most that many texts, answers in order", () =>
    Effect.gen(function*() {
      const { client, provide } = yield* setup()
      const { spans, tracer } = recordingTracer()
      const texts = ["a", "b", "c", "d", "e"]
      const vectors = yield* Effect.flatMap(EmbeddingModel.EmbeddingModel, (model) => model.embedMany(texts)).pipe(
        Effect.provide(provide(LMStudioEmbeddingModel.model(NOMIC, { maxBatchSize: 2 }))),
        Effect.withTracer(tracer)
      )
      assert.deepStrictEqual(batchSizes(spans), [1, 2, 2])
      const own = yield* Effect.flatMap(client.embedding.model(NOMIC), (model) => model.embed(texts))
      assert.deepStrictEqual(vectors, own.map((vector) => [...vector]))
    }))

  it.scopedLive("window gathers the embed calls of concurrent fibers into one batch", () =>
    Effect.gen(function*() {
      const { provide } = yield* setup()
      const { spans, tracer } = recordingTracer()
      const vectors = yield* Effect.flatMap(EmbeddingModel.EmbeddingModel, (model) =>
        Effect.all([model.embed("one"), model.embed("two"), model.embed("three")], { concurrency: "unbounded" })).pipe(
          Effect.provide(provide(LMStudioEmbeddingModel.model(NOMIC, { window: "50 millis" }))),
          Effect.withTracer(tracer)
        )
      assert.deepStrictEqual(batchSizes(spans), [3])
      assert.strictEqual(new Set(vectors.map((v) => v.join())).size, 3)
    }))

  it.scopedLive("cache: a text embedded before is answered without asking LM Studio again", () =>
    Effect.gen(function*() {
      const { sim, provide } = yield* setup()
      const [first, again] = yield* Effect.flatMap(EmbeddingModel.EmbeddingModel, (model) =>
        Effect.all([model.embed("same text"), model.embed("same text")])).pipe(
          Effect.provide(provide(LMStudioEmbeddingModel.model(NOMIC, { cache: { capacity: 10, timeToLive: "1 minute" } })))
        )
      assert.deepStrictEqual(again, first)
      assert.strictEqual(yield* embedRpcs(sim), 1)
    }))

  it.scopedLive("bad batching options fail every request with MalformedInput naming the option, before any I/O", () =>
    Effect.gen(function*() {
      const { sim, provide } = yield* setup()
      const bad: ReadonlyArray<readonly [LMStudioEmbeddingModel.Options, string]> = [
        [{ maxBatchSize: 0 }, "maxBatchSize"],
        [{ maxBatchSize: 1.5 }, "maxBatchSize"],
        [{ window: "-1 millis" as never }, "window"],
        [{ cache: { capacity: -1, timeToLive: "1 minute" } }, "cache.capacity"],
        [{ cache: { capacity: 1, timeToLive: "1 minute" }, window: "1 millis" }, "cache"]
      ]
      for (const [options, field] of bad) {
        const error = yield* Effect.flatMap(EmbeddingModel.EmbeddingModel, (model) => model.embedMany(["x"])).pipe(
          Effect.provide(provide(LMStudioEmbeddingModel.model(NOMIC, options))),
          Effect.flip
        )
        assert.strictEqual(error._tag, "MalformedInput")
        assert.include(error.message, field)
      }
      assert.strictEqual(yield* embedRpcs(sim), 0)
      assert.deepStrictEqual(yield* sim.loaded, [])
    }))
})

describe("LMStudioTokenizer", () => {
  it.scopedLive("tokenize counts the prompt as the model's template formats it", () =>
    Effect.gen(function*() {
      const { client, provide } = yield* setup()
      const prompt = Prompt.make([{ role: "system", content: "You are terse." }, { role: "user", content: "Hi there" }])
      const tokens = yield* Effect.flatMap(Tokenizer.Tokenizer, (tokenizer) => tokenizer.tokenize(prompt)).pipe(
        Effect.provide(provide(LMStudioTokenizer.model(LLAMA)))
      )
      const model = yield* client.llm.model(LLAMA)
      const templated = yield* model.applyPromptTemplate([
        { role: "system", content: "You are terse." },
        { role: "user", content: "Hi there" }
      ])
      assert.strictEqual(tokens.length, yield* model.countTokens(templated))
      assert.isAbove(tokens.length, 0)
    }))
})

describe("LMStudioTokenizer truncate", () => {
  it.scopedLive("truncate keeps the newest messages whose tokens fit", () =>
    Effect.gen(function*() {
      const { provide } = yield* setup()
      const prompt = Prompt.make([
        { role: "system", content: "You are terse." },
        { role: "user", content: "Tell me about the sea and the ships upon it" },
        { role: "assistant", content: "It is wide." },
        { role: "user", content: "And the sky?" }
      ])
      const [perMessage, truncated, none] = yield* Effect.gen(function*() {
        const tokenizer = yield* Tokenizer.Tokenizer
        const counts = yield* Effect.forEach(prompt.content, (message) =>
          Effect.map(tokenizer.tokenize(Prompt.fromMessages([message])), (tokens) => tokens.length))
        const lastTwo = counts[2]! + counts[3]!
        return [counts, yield* tokenizer.truncate(prompt, lastTwo), yield* tokenizer.truncate(prompt, 0)] as const
      }).pipe(Effect.provide(provide(LMStudioTokenizer.model(LLAMA))))
      assert.isTrue(perMessage.every((count) => count > 0))
      assert.deepStrictEqual(truncated.content.map((m) => m.role), ["assistant", "user"])
      assert.deepStrictEqual(none.content, [])
    }))
})

describe("lmstudio-effect/ai stays optional", () => {
  it.effect("nothing outside src/ai imports it or @effect/ai", () =>
    Effect.sync(() => {
      const root = fileURLToPath(new URL("../src", import.meta.url))
      const offenders = readdirSync(root, { recursive: true, encoding: "utf8" })
        .filter((file) => file.endsWith(".ts") && !file.startsWith("ai/"))
        .filter((file) => /from "(@effect\/ai[/"]|\.{1,2}\/(\.\.\/)*ai\/)/.test(readFileSync(`${root}/${file}`, "utf8")))
      assert.deepStrictEqual(offenders, [])
    }))

  it.effect("examples/effect-ai.ts: the program's logic uses @effect/ai and effect only; LM Studio comes in at the edge", () =>
    Effect.sync(() => {
      const source = readFileSync(fileURLToPath(new URL("../examples/effect-ai.ts", import.meta.url)), "utf8")
      const [logic, edge] = source.split("// ── The edge")
      const code = logic!.split("\n").filter((line) => !/^\s*(import |\/\/|\*|\/\*\*)/.test(line)).join("\n")
      assert.notMatch(code, /LMStudio|lmstudio/)
      assert.match(code, /LanguageModel\.generateText/)
      assert.match(edge ?? "", /LMStudioLanguageModel\.model/)
    }))
})
