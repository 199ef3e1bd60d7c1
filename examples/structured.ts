/**
 * Structured output: the model answers in the shape of a Schema, and `result.parsed` is typed by
 * it. An answer that does not fit is a `StructuredOutputError` carrying the raw text.
 *
 *   npx tsx examples/structured.ts
 */
import { Console, Effect, Schema } from "effect"
import { LMStudioClient, runMain } from "lmstudio-effect"

const Book = Schema.Struct({
  title: Schema.String,
  author: Schema.String,
  year: Schema.Number
})

const program = Effect.gen(function*() {
  const client = yield* LMStudioClient
  const model = yield* client.llm.modelScoped("llama-3.2-1b-instruct")

  const result = yield* model.respond("Tell me about The Hobbit.", {
    structured: Book,
    config: { maxTokens: 200 } // a constrained model can loop: always bound it
  })
  const book = result.parsed // typed: { title: string; author: string; year: number }
  yield* Console.log(`${book.title} by ${book.author} (${book.year})`)
}).pipe(
  Effect.catchTag("StructuredOutputError", (error) => Console.log(`not a book: ${error.content}`))
)

program.pipe(Effect.scoped, Effect.provide(LMStudioClient.layerConfig()), runMain)
