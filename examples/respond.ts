/**
 * Chat: ask a model, keep the conversation going with an immutable `Chat`, and read the answer's
 * statistics.
 *
 *   npx tsx examples/respond.ts
 */
import { Console, Effect } from "effect"
import { Chat, LMStudioClient, runMain } from "lmstudio-effect"

const program = Effect.gen(function*() {
  const client = yield* LMStudioClient
  const model = yield* client.llm.modelScoped("llama-3.2-1b-instruct")

  // A plain string is a one-message chat.
  const first = yield* model.respond("What is the meaning of life?")
  yield* Console.log(`answer: ${first.content}`)
  yield* Console.log(`stats:  ${first.stats.predictedTokensCount} tokens, stopped by ${first.stats.stopReason}`)

  // A Chat is a value: append the answer and the next question to get the next chat.
  const chat = Chat.make(
    Chat.system("You are a terse assistant."),
    Chat.user("Name a prime number.")
  )
  const answer = yield* model.respond(chat, { config: { temperature: 0, maxTokens: 50 } })
  const followUp = chat.pipe(Chat.appendResult(answer), Chat.appendUser("And a larger one?"))
  const second = yield* model.respond(followUp, { config: { temperature: 0, maxTokens: 50 } })
  yield* Console.log(`after ${followUp.messages.length} messages: ${second.content}`)
})

program.pipe(Effect.scoped, Effect.provide(LMStudioClient.layerConfig()), runMain)
