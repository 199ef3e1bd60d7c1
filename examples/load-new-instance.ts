/**
 * Guide: "Load a new instance of a model" — `loadNewInstance` always loads another copy; give it
 * an identifier, or let LM Studio assign one (`key`, then `key:2`, …).
 *
 *   npx tsx examples/load-new-instance.ts
 */
import { Console, Effect } from "effect"
import { LMStudioClient, runMain } from "lmstudio-effect"

const program = Effect.gen(function*() {
  const client = yield* LMStudioClient
  const first = yield* client.llm.loadNewInstance("llama-3.2-1b-instruct")
  const second = yield* client.llm.loadNewInstance("llama-3.2-1b-instruct", { identifier: "second-llama" })
  yield* Console.log(`loaded ${first.identifier} and ${second.identifier}`)

  // An identifier that is taken is a typed error carrying the identifier.
  const clash = yield* Effect.flip(client.llm.loadNewInstance("llama-3.2-1b-instruct", { identifier: "second-llama" }))
  yield* Console.log(`again as second-llama → ${clash._tag}`)

  yield* first.unload
  yield* second.unload
})

program.pipe(Effect.provide(LMStudioClient.layerConfig()), runMain)
