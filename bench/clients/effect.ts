/** lmstudio-effect: Effect programs, one `runPromise` per sample. */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { LMStudioClient, type Prediction } from "../../src/index.js"
import { type BenchClient, now } from "./shared.js"

export const makeEffectClient = async (baseUrl: string): Promise<BenchClient> => {
  const scope = Effect.runSync(Scope.make())
  const client = await Effect.runPromise(Scope.extend(LMStudioClient.make({ baseUrl }), scope))
  const llm = client.llm

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
    predictions: (deadline) =>
      Effect.runPromise(Effect.gen(function*() {
        const model = yield* llm.model()
        let ops = 0
        let fragments = 0
        const count = (event: Prediction.PredictionEvent) =>
          Effect.sync(() => {
            if (event._tag === "Fragment") fragments++
          })
        while (now() < deadline) {
          yield* Stream.runForEach(model.respondStream("Tell me a story."), count)
          ops++
        }
        return { ops, fragments }
      })),
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
    close: () => Effect.runPromise(Scope.close(scope, Exit.void))
  }
}

