/**
 * `@effect/ai` on LM Studio: a program written against `LanguageModel` and `EmbeddingModel`
 * (text, a stream, an object, a tool call, embeddings) runs with the `lmstudio-effect/ai`
 * provider. Requires `@effect/ai` (and its peers `@effect/experimental`, `@effect/rpc`).
 *
 *   npx tsx examples/ai.ts
 */
import { EmbeddingModel, LanguageModel, Tool, Toolkit } from "@effect/ai"
import { Console, Effect, Layer, Schema, Stream } from "effect"
import { LMStudioClient, runMain } from "lmstudio-effect"
import { LMStudioEmbeddingModel, LMStudioLanguageModel } from "lmstudio-effect/ai"

const GetWeather = Tool.make("GetWeather", {
  description: "The current temperature in a city, in °C",
  parameters: { city: Schema.String },
  success: Schema.Struct({ celsius: Schema.Number })
})
const Tools = Toolkit.make(GetWeather)
const ToolHandlers = Tools.toLayer({ GetWeather: () => Effect.succeed({ celsius: 21 }) })

const Book = Schema.Struct({ title: Schema.String, year: Schema.Number })

/** Plain @effect/ai: nothing here knows about LM Studio. */
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

  const withTools = yield* LanguageModel.generateText({ prompt: "Use GetWeather for Paris.", toolkit: Tools })
  for (const result of withTools.toolResults) yield* Console.log(`tool ${result.name}: ${result.result.celsius} °C`)

  const vectors = yield* EmbeddingModel.EmbeddingModel.pipe(Effect.flatMap((model) => model.embedMany(["cat", "kitten"])))
  yield* Console.log(`embeddings: ${vectors.length} × ${vectors[0]?.length}`)
})

// Two instances of this program's own, unloaded when its scope closes. (`model(key)` would load JIT
// instances, and with LM Studio's JIT auto-evict each would unload the other; a provider made
// from a key, `LMStudioLanguageModel.model("llama-3.2-1b-instruct")`, loads its model again then.)
const main = Effect.gen(function*() {
  const client = yield* LMStudioClient
  const llm = yield* client.llm.loadNewInstanceScoped("llama-3.2-1b-instruct")
  const embedder = yield* client.embedding.loadNewInstanceScoped("text-embedding-nomic-embed-text-v1.5")
  yield* program.pipe(
    Effect.provide(Layer.mergeAll(
      LMStudioLanguageModel.model(llm, { config: { maxTokens: 200 } }),
      LMStudioEmbeddingModel.model(embedder),
      ToolHandlers
    ))
  )
})

main.pipe(Effect.scoped, Effect.provide(LMStudioClient.layerConfig()), runMain)
