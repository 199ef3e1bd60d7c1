/**
 * Guide: "Set an idle time to live" — `ttl` takes any Duration; LM Studio unloads the instance
 * after that much idle time. With `model(key)` it applies only if that call loads the model.
 *
 *   npx tsx examples/ttl.ts
 */
import { Console, Effect } from "effect"
import { LMStudioClient, runMain } from "lmstudio-effect"

const program = Effect.gen(function*() {
  const client = yield* LMStudioClient
  const model = yield* client.llm.loadNewInstance("llama-3.2-1b-instruct", { ttl: "1 hour" })
  const info = yield* model.getInfo
  yield* Console.log(`${model.identifier} will unload after ${info.ttlMs} ms idle`)

  const jit = yield* client.embedding.model("text-embedding-nomic-embed-text-v1.5", { ttl: "10 minutes" })
  yield* Console.log(`${jit.identifier}: ttlMs = ${(yield* jit.getInfo).ttlMs}`)

  // A TTL below one millisecond (or zero, negative, infinite) is rejected before anything is sent.
  const invalid = yield* Effect.flip(client.llm.loadNewInstance("llama-3.2-1b-instruct", { ttl: "0 seconds" }))
  yield* Console.log(`ttl 0 → ${invalid.message}`)

  yield* model.unload
  yield* jit.unload
})

program.pipe(Effect.provide(LMStudioClient.layerConfig()), runMain)
