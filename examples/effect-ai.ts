/**
 * `@effect/ai` on LM Studio, the provider swap: the program below is written only against
 * `@effect/ai` (`LanguageModel`, `Toolkit`, `EmbeddingModel`, `Tokenizer`) and `effect`. LM Studio
 * comes in at the edge, as one Layer from `lmstudio-effect/ai` — swap it for `@effect/ai-openai`'s
 * and the program does not change. Requires `@effect/ai` and its peers `@effect/experimental`
 * and `@effect/rpc`.
 *
 *   npx tsx examples/effect-ai.ts
 */
import { EmbeddingModel, LanguageModel, Prompt, Tokenizer, Tool, Toolkit } from "@effect/ai"
import { Console, Effect, Layer, Schema, Stream } from "effect"
// Used only at the edge, at the bottom of the file:
import { LMStudioClient, runMain } from "lmstudio-effect"
import { LMStudioEmbeddingModel, LMStudioLanguageModel } from "lmstudio-effect/ai"

// ── The program: @effect/ai only ──────────────────────────────────────────────────────────────

const GetWeather = Tool.make("GetWeather", {
  description: "The current temperature in a city, in °C",
  parameters: { city: Schema.String },
  success: Schema.Struct({ celsius: Schema.Number })
})
const Tools = Toolkit.make(GetWeather)
const ToolHandlers = Tools.toLayer({ GetWeather: () => Effect.succeed({ celsius: 21 }) })

const Book = Schema.Struct({ title: Schema.String, year: Schema.Number })

const program = Effect.gen(function*() {
  const answer = yield* LanguageModel.generateText({ prompt: "What is the capital of France?" })
  yield* Console.log(`text: ${answer.text} (${answer.finishReason}, ${answer.usage.outputTokens} tokens)`)

  yield* LanguageModel.streamText({ prompt: "Tell me a joke." }).pipe(
    Stream.filter((part) => part.type === "text-delta"),
    Stream.runForEach((part) => Effect.sync(() => process.stdout.write(part.delta)))
  )
  yield* Console.log("")

  const book = yield* LanguageModel.generateObject({ prompt: "Tell me about The Hobbit.", schema: Book })
  yield* Console.log(`object: ${book.value.title} (${book.value.year})`)

  // A tool round trip: the model calls the tool, its handler runs, and the call and its result go
  // back into the conversation for the model's final answer.
  const question = Prompt.make("Use GetWeather for Paris, then tell me what to wear.")
  const call = yield* LanguageModel.generateText({ prompt: question, toolkit: Tools })
  for (const result of call.toolResults) yield* Console.log(`tool ${result.name}: ${result.result.celsius} °C`)
  const final = yield* LanguageModel.generateText({
    prompt: Prompt.merge(question, Prompt.fromResponseParts(call.content)),
    toolkit: Tools
  })
  yield* Console.log(`after the tool: ${final.text}`)
  if (call.toolCalls.length === 0 || final.toolCalls.length > 0 || final.text === "") {
    return yield* Effect.dieMessage("the tool round trip did not end in a text answer")
  }

  const tokens = yield* Tokenizer.Tokenizer.pipe(Effect.flatMap((tokenizer) => tokenizer.tokenize(question)))
  yield* Console.log(`the question is ${tokens.length} tokens in the model's chat template`)

  const vectors = yield* EmbeddingModel.EmbeddingModel.pipe(Effect.flatMap((model) => model.embedMany(["cat", "kitten"])))
  yield* Console.log(`embeddings: ${vectors.length} × ${vectors[0]?.length}`)
})

// ── The edge: LM Studio ───────────────────────────────────────────────────────────────────────

/**
 * `LanguageModel`, `Tokenizer` and `EmbeddingModel` on two instances of this program's own,
 * unloaded when the program ends. (A model key, `LMStudioLanguageModel.model("llama-3.2-1b-instruct")`,
 * would use JIT instances; with LM Studio's JIT auto-evict, loading one evicts the other, and the
 * provider loads its model again on its next request.)
 */
const LMStudioAi = Layer.unwrapScoped(Effect.gen(function*() {
  const client = yield* LMStudioClient
  const llm = yield* client.llm.loadNewInstanceScoped("llama-3.2-1b-instruct")
  const embedder = yield* client.embedding.loadNewInstanceScoped("text-embedding-nomic-embed-text-v1.5")
  return Layer.mergeAll(
    LMStudioLanguageModel.modelWithTokenizer(llm, { config: { maxTokens: 200 } }),
    LMStudioEmbeddingModel.model(embedder, { maxBatchSize: 64 })
  )
})).pipe(Layer.provide(LMStudioClient.layerConfig()))

program.pipe(Effect.provide(Layer.merge(LMStudioAi, ToolHandlers)), runMain)
