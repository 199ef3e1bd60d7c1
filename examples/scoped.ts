/**
 * Scoped models: `loadNewInstanceScoped` unloads when the scope closes — after success, failure
 * or interruption — and `modelScoped` unloads only if it was the call that loaded the model.
 *
 *   npx tsx examples/scoped.ts
 */
import { Console, Effect } from "effect"
import { LMStudioClient, runMain } from "lmstudio-effect"

const loadedCount = Effect.flatMap(LMStudioClient, (client) => Effect.map(client.llm.listLoaded(), (l) => l.length))

const program = Effect.gen(function*() {
  const client = yield* LMStudioClient

  // Success: the model is unloaded when the scope closes.
  yield* Effect.scoped(Effect.gen(function*() {
    const model = yield* client.llm.loadNewInstanceScoped("llama-3.2-1b-instruct")
    yield* Console.log(`inside the scope: ${model.identifier} loaded (${yield* loadedCount} loaded)`)
  }))
  yield* Console.log(`after success: ${yield* loadedCount} loaded`)

  // Failure: still unloaded.
  yield* Effect.scoped(Effect.gen(function*() {
    yield* client.llm.loadNewInstanceScoped("llama-3.2-1b-instruct")
    return yield* Effect.fail("something went wrong")
  })).pipe(Effect.ignore)
  yield* Console.log(`after failure: ${yield* loadedCount} loaded`)

  // Interruption, even in the middle of the load: the load is cancelled, nothing stays.
  yield* Effect.scoped(client.llm.loadNewInstanceScoped("qwen2.5-7b-instruct")).pipe(
    Effect.timeout("20 millis"),
    Effect.ignore
  )
  yield* Console.log(`after interruption: ${yield* loadedCount} loaded`)
})

program.pipe(Effect.provide(LMStudioClient.layerConfig()), runMain)
