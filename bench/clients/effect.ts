/** lmstudio-effect: Effect programs, one `runPromise` per sample. */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { LMStudioClient } from "../../src/index.js"
import { type BenchClient, EMBEDDING_MODEL_KEY, now, PREDICTION_MODEL_KEY, predictionPrompt } from "./shared.js"
import { RawConnection } from "./raw.js"

export const makeEffectClient = async (baseUrl: string): Promise<BenchClient> => {
  const scope = Effect.runSync(Scope.make())
  const client = await Effect.runPromise(Scope.extend(LMStudioClient.make({ baseUrl }), scope))
  const llm = client.llm
  const model = await Effect.runPromise(llm.model(PREDICTION_MODEL_KEY))
  const embedder = await Effect.runPromise(client.embedding.model(EMBEDDING_MODEL_KEY))
  // The ceiling of workload 8: a bare socket whose message event resolves an Effect.async.
  const bare = await RawConnection.open(baseUrl)
  bare.corkPerTick = true // like the port: the ceiling should not pay a system call per frame
  const bareListLoaded = Effect.async<unknown>((resume) => {
    bare.callback("listLoaded", (result) => resume(Effect.succeed(result)))
  })

  /** Batches of `size` at once with `Effect.all`, until the deadline. */
  const batches = (deadline: number, size: number, call: () => Effect.Effect<unknown, unknown>) =>
    Effect.runPromise(Effect.gen(function*() {
      let ops = 0
      while (now() < deadline) {
        yield* Effect.all(Array.from({ length: size }, call), { concurrency: "unbounded" })
        ops += size
      }
      return ops
    }))

  /** One streamed prediction: the fragments of `respondStream`. */
  const stream = (tokens: number, onFirst?: () => void) =>
    Stream.runFold(model.respondStream(predictionPrompt(tokens)), 0, (fragments, event) => {
      if (event._tag !== "Fragment") return fragments
      if (fragments === 0) onFirst?.()
      return fragments + 1
    })

  const sequential = (deadline: number) =>
    Effect.gen(function*() {
      let ops = 0
      while (now() < deadline) {
        yield* llm.listLoaded()
        ops++
      }
      return ops
    })

  return {
    name: "lmstudio-effect",
    sequentialRpc: (deadline) => Effect.runPromise(sequential(deadline)),
    concurrentRpc: (deadline, lanes) =>
      Effect.runPromise(
        Effect.forEach(Array.from({ length: lanes }), () => sequential(deadline), { concurrency: "unbounded" }).pipe(
          Effect.map((counts) => counts.reduce((a, b) => a + b, 0))
        )
      ),
    getOrLoad: (deadline, key) =>
      Effect.runPromise(Effect.gen(function*() {
        let ops = 0
        let progressEvents = 0
        const onProgress = () =>
          Effect.sync(() => {
            progressEvents++
          })
        while (now() < deadline) {
          yield* llm.model(key, { onProgress })
          ops++
        }
        return { ops, progressEvents }
      })),
    loadUnload: (deadline, key) =>
      Effect.runPromise(Effect.gen(function*() {
        let ops = 0
        while (now() < deadline) {
          const handle = yield* llm.loadNewInstance(key)
          yield* handle.unload
          ops++
        }
        return ops
      })),
    concurrentLoads: (count, key) =>
      Effect.runPromise(
        Effect.forEach(Array.from({ length: count }), () => llm.loadNewInstance(key), {
          concurrency: "unbounded",
          discard: true
        })
      ),
    connectFirstCall: (deadline) =>
      Effect.runPromise(Effect.gen(function*() {
        const latencies: Array<number> = []
        while (now() < deadline) {
          const start = now()
          yield* Effect.scoped(Effect.gen(function*() {
            const fresh = yield* LMStudioClient.make({ baseUrl })
            yield* fresh.llm.listLoaded()
            latencies.push(now() - start)
          }))
        }
        return latencies
      })),
    rpcBatches: (deadline, size) => batches(deadline, size, () => llm.listLoaded()),
    rpcBatchesCeiling: (deadline, size) => batches(deadline, size, () => bareListLoaded),
    boundedForEach: (items, concurrency) =>
      Effect.runPromise(
        Effect.forEach(Array.from({ length: items }), () => llm.listLoaded(), { concurrency, discard: true })
      ),
    boundedForEachCeiling: (items, concurrency) =>
      Effect.runPromise(Effect.forEach(Array.from({ length: items }), () => bareListLoaded, { concurrency, discard: true })),
    streamPredictions: (deadline, tokens) =>
      Effect.runPromise(Effect.gen(function*() {
        let predictions = 0
        let fragments = 0
        while (now() < deadline) {
          fragments += yield* stream(tokens)
          predictions++
        }
        return { predictions, fragments }
      })),
    firstFragment: (deadline, tokens) =>
      Effect.runPromise(Effect.gen(function*() {
        const latencies: Array<number> = []
        while (now() < deadline) {
          const start = now()
          yield* stream(tokens, () => latencies.push(now() - start))
        }
        return latencies
      })),
    concurrentPredictions: (count, tokens) =>
      Effect.runPromise(
        Effect.all(Array.from({ length: count }, () => stream(tokens)), { concurrency: "unbounded" }).pipe(
          Effect.map((counts) => counts.reduce((a, b) => a + b, 0))
        )
      ),
    embed: (texts) => Effect.runPromise(Effect.map(embedder.embed(texts), (vectors) => vectors.length)),
    countTokens: (deadline) =>
      Effect.runPromise(Effect.gen(function*() {
        let ops = 0
        while (now() < deadline) {
          yield* model.countTokens("How many tokens is this sentence?")
          ops++
        }
        return ops
      })),
    close: async () => {
      await bare.close()
      await Effect.runPromise(Scope.close(scope, Exit.void))
    }
  }
}

