/**
 * Guide: "Unload a model" — by handle (`handle.unload`) or by identifier
 * (`client.llm.unload(identifier)`).
 *
 *   npx tsx examples/unload.ts
 */
import { Console, Effect } from "effect"
import { LMStudioClient, runMain } from "lmstudio-effect"

const program = Effect.gen(function*() {
  const client = yield* LMStudioClient
  const model = yield* client.llm.loadNewInstance("llama-3.2-1b-instruct")
  yield* model.unload
  yield* Console.log(`unloaded ${model.identifier} by handle`)

  yield* client.llm.loadNewInstance("qwen2.5-7b-instruct", { identifier: "my-qwen" })
  yield* client.llm.unload("my-qwen")
  yield* Console.log("unloaded my-qwen by identifier")

  // Unloading what is not there fails promptly with a typed error.
  const error = yield* Effect.flip(client.llm.unload("my-qwen"))
  yield* Console.log(`unload again → ${error._tag}`)
})

program.pipe(Effect.provide(LMStudioClient.layerConfig()), runMain)
