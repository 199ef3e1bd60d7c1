/**
 * Guide: "Load config" — typed, validated before anything is sent, and readable back.
 *
 *   npx tsx examples/load-config.ts
 */
import { Console, Effect } from "effect"
import { LMStudioClient, runMain } from "lmstudio-effect"

const program = Effect.gen(function*() {
  const client = yield* LMStudioClient
  const model = yield* client.llm.loadNewInstance("llama-3.2-1b-instruct", {
    config: { contextLength: 8192, gpu: { ratio: 0.5 }, flashAttention: true, seed: 42 }
  })
  yield* Console.log(`context length: ${yield* model.getContextLength}`)
  yield* Console.log(`load config:    ${JSON.stringify(yield* model.getLoadConfig)}`)
  yield* model.unload

  // Out-of-range values are typed errors that name the field.
  const invalid = yield* Effect.flip(
    client.llm.loadNewInstance("llama-3.2-1b-instruct", { config: { contextLength: 0 } })
  )
  yield* Console.log(`contextLength 0 → ${invalid.message}`)
})

program.pipe(Effect.provide(LMStudioClient.layerConfig()), runMain)
