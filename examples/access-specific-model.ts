/**
 * Guide: "Access a specific model" — `model(key)` returns the loaded instance of that model, or
 * loads it first (get-or-load).
 *
 *   npx tsx examples/access-specific-model.ts
 */
import { Console, Effect } from "effect"
import { LMStudioClient, Lms, runMain } from "lmstudio-effect"

const program = Effect.gen(function*() {
  const model = yield* Lms.llm("llama-3.2-1b-instruct")
  yield* Console.log(`got ${model.identifier} (model key ${model.modelKey})`)

  // A second call finds the same instance instead of loading another.
  const again = yield* Lms.llm("llama-3.2-1b-instruct")
  yield* Console.log(`again: ${again.identifier} — same instance: ${again.identifier === model.identifier}`)

  yield* model.unload
  yield* Console.log("unloaded")
})

program.pipe(Effect.provide(LMStudioClient.layerConfig()), runMain)
