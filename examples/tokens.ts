/**
 * Tokens: tokenize and count with the model's own tokenizer, and check that a chat fits the
 * model's context before sending it.
 *
 *   npx tsx examples/tokens.ts
 */
import { Console, Effect } from "effect"
import { Chat, LMStudioClient, Tokenization, runMain } from "lmstudio-effect"

const program = Effect.gen(function*() {
  const client = yield* LMStudioClient
  const model = yield* client.llm.modelScoped("llama-3.2-1b-instruct")

  const tokens = yield* model.tokenize("Chaos is a ladder.")
  yield* Console.log(`tokens: [${tokens.join(", ")}]`)
  yield* Console.log(`count:  ${yield* model.countTokens("Chaos is a ladder.")}`)

  // Several texts: one array each, in order.
  const many = yield* model.tokenize(["Hello!", "How are you today?"])
  yield* Console.log(`lengths: ${many.map((t) => t.length).join(", ")}`)

  // Does this chat fit? Apply the model's prompt template, count, compare with the context length.
  const chat = Chat.make(Chat.system("You are terse."), Chat.user("Summarise this: " + "lorem ipsum ".repeat(200)))
  const usage = yield* Tokenization.chatContextUsage(model, chat)
  yield* Console.log(
    usage.fits
      ? `the prompt fits: ${usage.promptTokens} of ${usage.contextLength} tokens, ${usage.remaining} left for the reply`
      : `the prompt is ${-usage.remaining} tokens too long for a context of ${usage.contextLength}`
  )

  // Embedding models have tokenizers too (their tokenize adds begin/end markers).
  const embedder = yield* client.embedding.modelScoped("text-embedding-nomic-embed-text-v1.5")
  yield* Console.log(`embedding model: ${yield* embedder.countTokens("Chaos is a ladder.")} tokens`)
})

program.pipe(Effect.scoped, Effect.provide(LMStudioClient.layerConfig()), runMain)
