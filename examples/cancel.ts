/**
 * Cancelling: interrupting a prediction (a timeout, a race, Ctrl-C) or stopping its stream early
 * cancels it on the server, which stops generating.
 *
 *   npx tsx examples/cancel.ts
 */
import { Console, Effect, Stream } from "effect"
import { LMStudioClient, Prediction, runMain } from "lmstudio-effect"

const program = Effect.gen(function*() {
  const client = yield* LMStudioClient
  const model = yield* client.llm.modelScoped("llama-3.2-1b-instruct")

  // Give up after a deadline: the prediction is interrupted and cancelled.
  const answer = yield* model.respond("Write a long essay about the sea.").pipe(Effect.timeout("30 millis"), Effect.option)
  yield* Console.log(answer._tag === "None" ? "gave up after 30 ms; the server stopped generating" : "answered in time")

  // Take only the first three tokens of a stream: the rest is never generated.
  const firstTokens = yield* model.respondStream("Count to one hundred.").pipe(
    Stream.filter(Prediction.isFragment),
    Stream.take(3),
    Stream.map((fragment) => fragment.content),
    Stream.runCollect
  )
  yield* Console.log(`first three tokens: ${JSON.stringify([...firstTokens])}`)
})

program.pipe(Effect.scoped, Effect.provide(LMStudioClient.layerConfig()), runMain)
