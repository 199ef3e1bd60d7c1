/**
 * Streaming: print the answer token by token as it arrives, then the statistics from the stream's
 * last event. Raw completion (`completeStream`) streams the same way.
 *
 *   npx tsx examples/stream.ts
 */
import { Console, Effect, Stream } from "effect"
import { LMStudioClient, runMain } from "lmstudio-effect"

const program = Effect.gen(function*() {
  const client = yield* LMStudioClient
  const model = yield* client.llm.modelScoped("llama-3.2-1b-instruct")

  yield* model.respondStream("Tell me a very short story.").pipe(
    Stream.runForEach((event) => {
      switch (event._tag) {
        case "PromptProcessing":
          return Console.log(`[prompt ${Math.round(event.progress * 100)}%]`)
        case "Fragment":
          return Effect.sync(() => process.stdout.write(event.content))
        case "Result":
          return Console.log(`\n[${event.result.stats.predictedTokensCount} tokens, ${event.result.stats.stopReason}]`)
        default:
          return Effect.void
      }
    })
  )

  // Raw completion: the model continues the text as is.
  process.stdout.write("The quick brown fox")
  yield* model.completeStream("The quick brown fox", { config: { maxTokens: 8 } }).pipe(
    Stream.runForEach((event) => event._tag === "Fragment" ? Effect.sync(() => process.stdout.write(event.content)) : Effect.void)
  )
  yield* Console.log("")
})

program.pipe(Effect.scoped, Effect.provide(LMStudioClient.layerConfig()), runMain)
