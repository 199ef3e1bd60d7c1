/**
 * Embeddings: a tiny semantic search. Embed a few sentences and a question, then rank the
 * sentences by cosine similarity to the question.
 *
 *   npx tsx examples/embed.ts
 */
import { Console, Effect } from "effect"
import { LMStudioClient, runMain } from "lmstudio-effect"

const sentences = [
  "The cat sleeps on the warm windowsill.",
  "Stock markets fell sharply after the announcement.",
  "A kitten naps in the afternoon sun.",
  "The recipe needs two cups of flour and an egg.",
  "Interest rates will rise next quarter."
]
const question = "Where is the cat sleeping?"

/** Cosine similarity; LM Studio's embeddings are unit vectors, but don't rely on it. */
const cosine = (a: ReadonlyArray<number>, b: ReadonlyArray<number>) => {
  let dot = 0, na = 0, nb = 0
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!
    na += a[i]! * a[i]!
    nb += b[i]! * b[i]!
  }
  return dot / Math.sqrt(na * nb)
}

const program = Effect.gen(function*() {
  const client = yield* LMStudioClient
  // Unloaded when the scope closes, if this program loaded it.
  const model = yield* client.embedding.modelScoped("text-embedding-nomic-embed-text-v1.5")

  // One vector per sentence, in order (at most 4 requests in flight).
  const vectors = yield* model.embed(sentences, { concurrency: 4 })
  const query = yield* model.embed(question)
  yield* Console.log(`${vectors.length} sentences, ${query.length} dimensions`)

  const ranking = sentences
    .map((sentence, i) => ({ sentence, score: cosine(query, vectors[i]!) }))
    .sort((a, b) => b.score - a.score)
  yield* Console.log(`"${question}"`)
  for (const { score, sentence } of ranking) yield* Console.log(`  ${score.toFixed(3)}  ${sentence}`)
})

program.pipe(Effect.scoped, Effect.provide(LMStudioClient.layerConfig()), runMain)
