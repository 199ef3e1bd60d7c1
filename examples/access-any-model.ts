/**
 * Guide: "Access any loaded model" — `Lms.llm()` and `client.llm.model()` with no key return
 * whatever LLM is loaded. (We load one first, scoped, so that there is something to find.)
 *
 *   npx tsx examples/access-any-model.ts
 */
import { Console, Effect } from "effect"
import { LMStudioClient, Lms, runMain } from "lmstudio-effect"

const program = Effect.gen(function*() {
  const client = yield* LMStudioClient
  yield* client.llm.loadNewInstanceScoped("llama-3.2-1b-instruct")

  // The convenience style of the guide: any loaded LLM.
  const anyLlm = yield* Lms.llm()
  yield* Console.log(`Lms.llm()          → ${anyLlm.identifier}`)

  // The same through the client service.
  const same = yield* client.llm.model()
  yield* Console.log(`client.llm.model() → ${same.identifier}`)

  // No embedding model is loaded: a typed error that says what to do.
  const missing = yield* Effect.flip(Lms.embeddingModel())
  yield* Console.log(`Lms.embeddingModel() → ${missing._tag}: ${missing.message.split("\n")[0]}`)
})

program.pipe(Effect.scoped, Effect.provide(LMStudioClient.layerConfig()), runMain)
