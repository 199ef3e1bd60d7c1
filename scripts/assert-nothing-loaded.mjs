// Exits non-zero if the server at LMSTUDIO_BASE_URL has any model loaded (CI runs it after each
// example). Plain JavaScript on the built package, so that it starts in a fraction of a second.
import { Effect } from "effect"
import { LMStudioClient, Lms } from "../dist/index.js"

const loaded = await Lms.listLoadedModels().pipe(Effect.provide(LMStudioClient.layerConfig()), Effect.runPromise)
if (loaded.length > 0) {
  console.error(`left loaded: ${loaded.map((m) => m.identifier).join(", ")}`)
  process.exit(1)
}
