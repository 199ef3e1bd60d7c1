/**
 * The guide end to end, narrated. Runs against the built-in simulator (no LM Studio needed), or
 * against the server in LMSTUDIO_BASE_URL when that is set.
 *
 *   npm run demo
 */
import { Console, Effect, Layer, Option, Stream } from "effect"
import { LMStudioClient, Lms, LoadEvent, runMain } from "lmstudio-effect"
import { LMStudioSimulator } from "lmstudio-effect/testing"

const LLM = "llama-3.2-1b-instruct"
const EMBEDDING = "text-embedding-nomic-embed-text-v1.5"

/** A redrawn bar on a terminal; a line per quarter when the output is a pipe or a log. */
const progressRenderer = (label: string) => LoadEvent.consoleProgress(`  ${label}`)

const step = (text: string) => Console.log(`\n▸ ${text}`)

const tour = Effect.gen(function*() {
  const client = yield* LMStudioClient
  yield* Console.log(`Connected to ${client.baseUrl}`)

  yield* step("What is downloaded?")
  for (const model of yield* Lms.listDownloadedModels()) {
    yield* Console.log(`  ${model.type.padEnd(9)} ${model.modelKey.padEnd(38)} ${model.paramsString ?? ""}`)
  }

  yield* step(`Get (or load) ${LLM}, with a progress bar fed by the load-event Stream`)
  const events = client.llm.modelStream(LLM, { ttl: "1 hour" })
  const render = progressRenderer(LLM)
  const last = yield* events.pipe(
    Stream.tap((event) => LoadEvent.isProgress(event) ? render(event.progress) : Effect.void),
    Stream.runLast
  )
  const llm = Option.getOrThrow(last)
  if (llm._tag !== "Loaded") return yield* Effect.dieMessage("the load stream did not end with Loaded")
  const info = yield* llm.handle.getInfo
  yield* Console.log(`  loaded as "${llm.handle.identifier}", context ${info.contextLength} tokens, idle TTL ${info.ttlMs} ms`)

  yield* step("Ask it something: the answer streams in token by token")
  process.stdout.write("  ")
  yield* llm.handle.respondStream("In one sentence, what is LM Studio?", { config: { maxTokens: 40 } }).pipe(
    Stream.runForEach((event) =>
      event._tag === "Fragment"
        ? Effect.sync(() => process.stdout.write(event.content.replaceAll("\n", "\n  ")))
        : event._tag === "Result"
        ? Console.log(`\n  (${event.result.stats.predictedTokensCount} tokens, ${event.result.stats.stopReason})`)
        : Effect.void
    )
  )

  yield* step("Any loaded LLM (Lms.llm() with no key) is the one we just loaded")
  yield* Console.log(`  ${(yield* Lms.llm()).identifier}`)

  yield* step("Load a second instance under our own identifier")
  const second = yield* client.llm.loadNewInstance(LLM, {
    identifier: "second-llama",
    config: { contextLength: 8192 },
    onProgress: progressRenderer("second-llama")
  })
  yield* Console.log(`  "${second.identifier}" runs with a context of ${yield* second.getContextLength} tokens`)

  yield* step("Ask for that identifier again: a typed error, nothing loaded")
  const clash = yield* Effect.flip(client.llm.loadNewInstance(LLM, { identifier: "second-llama" }))
  yield* Console.log(`  ${clash._tag}: ${clash.message.split("\n")[0]}`)

  yield* step("An embedding model, scoped: unloaded when its scope closes")
  yield* Effect.scoped(Effect.gen(function*() {
    const embedding = yield* client.embedding.loadNewInstanceScoped(EMBEDDING, { onProgress: progressRenderer(EMBEDDING) })
    yield* Console.log(`  inside the scope: ${(yield* Lms.listLoadedModels()).map((m) => m.identifier).join(", ")}`)
    return embedding
  }))
  yield* Console.log(`  after the scope:  ${(yield* Lms.listLoadedModels()).map((m) => m.identifier).join(", ")}`)

  yield* step("Unload by handle and by identifier")
  yield* llm.handle.unload
  yield* client.llm.unload("second-llama")
  const left = yield* Lms.listLoadedModels()
  yield* Console.log(`  loaded now: ${left.length === 0 ? "nothing" : left.map((m) => m.identifier).join(", ")}`)
})

/** The simulator unless LMSTUDIO_BASE_URL points elsewhere. */
const ClientLive = Layer.unwrapScoped(Effect.gen(function*() {
  const external = yield* LMStudioClient.baseUrlConfig
  if (external !== undefined) return LMStudioClient.layerConfig()
  const simulator = yield* LMStudioSimulator.make({ port: 0, loadMs: 600 })
  yield* Console.log(`Started the built-in LM Studio simulator at ${simulator.url} (set LMSTUDIO_BASE_URL to use a real LM Studio)`)
  return LMStudioClient.layer({ baseUrl: simulator.url })
}))

// runMain, not Effect.runPromise: Ctrl-C interrupts the tour and its finalizers unload what it loaded.
tour.pipe(Effect.provide(ClientLive), runMain)
