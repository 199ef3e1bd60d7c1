/**
 * Guide: "Track load progress" — `onProgress` callbacks, or the `...Stream` variants that emit
 * typed load events ending with the loaded handle.
 *
 *   npx tsx examples/progress.ts
 */
import { Console, Effect, Stream } from "effect"
import { LMStudioClient, runMain } from "lmstudio-effect"

const program = Effect.gen(function*() {
  const client = yield* LMStudioClient

  // A callback, like the guide's on_progress.
  const model = yield* client.llm.loadNewInstance("llama-3.2-1b-instruct", {
    onProgress: (progress) => Console.log(`  callback: ${Math.round(progress * 100)}%`)
  })
  yield* model.unload

  // A Stream of load events: render them however you like.
  const last = yield* client.llm.loadNewInstanceStream("qwen2.5-7b-instruct").pipe(
    Stream.tap((event) => {
      switch (event._tag) {
        case "Resolved":
          return Console.log(`  resolved ${event.info.displayName}`)
        case "Progress":
          return Console.log(`  stream: ${Math.round(event.progress * 100)}%`)
        case "UnloadingOtherJitModel":
          return Console.log(`  evicting ${event.info.identifier}`)
        case "Loaded":
          return Console.log(`  loaded ${event.handle.identifier}`)
      }
    }),
    Stream.runLast
  )
  if (last._tag === "Some" && last.value._tag === "Loaded") yield* last.value.handle.unload
})

program.pipe(Effect.provide(LMStudioClient.layerConfig()), runMain)
