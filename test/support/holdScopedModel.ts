/**
 * A child process for the Ctrl-C test: holds a `modelScoped` model of the server in
 * LMSTUDIO_BASE_URL, prints "holding <identifier>", and waits forever. Run as the main program
 * with `runMain` (argument "runMain"), or with `Effect.runPromise` (argument "runPromise") to show
 * what that leaves behind.
 */
import { Console, Effect } from "effect"
import { LMStudioClient, runMain } from "../../src/index.js"

const program = Effect.gen(function*() {
  const client = yield* LMStudioClient
  const model = yield* client.llm.modelScoped("llama-3.2-1b-instruct")
  yield* Console.log(`holding ${model.identifier}`)
  return yield* Effect.never
}).pipe(Effect.scoped, Effect.provide(LMStudioClient.layerConfig()))

if (process.argv[2] === "runPromise") void Effect.runPromise(program)
else runMain(program)
