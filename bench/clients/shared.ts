/**
 * What the benchmarked clients share: their interface and the counting loops of the promise-based
 * ones. The clients import this module, and `index.ts` imports the clients, so nothing imports in
 * a circle.
 */
export type ClientName = "lmstudio-effect" | "@lmstudio/sdk" | "raw ws"
export const CLIENTS: ReadonlyArray<ClientName> = ["lmstudio-effect", "@lmstudio/sdk", "raw ws"]

export interface LoadResult {
  /** Loads completed. */
  readonly ops: number
  /** Progress callbacks received (a check that every packet reached the consumer). */
  readonly progressEvents: number
}

export interface PredictionCount {
  readonly predictions: number
  /** Fragments received (a check that every fragment reached the consumer). */
  readonly fragments: number
}

/** What every prediction workload asks: one user message; `~t<N>` tells the bench server to reply with N fragments. */
export const predictionPrompt = (tokens: number) => `Tell me about benchmarks ~t${tokens}`

/** The LLM the prediction and token workloads use (loaded once per client, no progress packets). */
export const PREDICTION_MODEL_KEY = "bench-llm~p0"
/** The embedding model of workload 13. */
export const EMBEDDING_MODEL_KEY = "bench-embed~p0"

export interface BenchClient {
  readonly name: ClientName
  /** Workload 1: sequential `listLoaded` round trips; returns the number completed. */
  readonly sequentialRpc: (deadline: number) => Promise<number>
  /** Workload 2: `lanes` sequential `listLoaded` loops running at once (= `lanes` RPCs in flight). */
  readonly concurrentRpc: (deadline: number, lanes: number) => Promise<number>
  /** Workload 3: sequential get-or-loads of `key` with a progress consumer. */
  readonly getOrLoad: (deadline: number, key: string) => Promise<LoadResult>
  /** Workload 4: sequential load-new-instance + unload cycles. */
  readonly loadUnload: (deadline: number, key: string) => Promise<number>
  /** Workload 5: `count` loads at once on this client; resolves when all are loaded. */
  readonly concurrentLoads: (count: number, key: string) => Promise<void>
  /** Workload 6: new client → first `listLoaded` → close, repeatedly; latencies (ms) up to the first result. */
  readonly connectFirstCall: (deadline: number) => Promise<Array<number>>
  /**
   * Workload 8: batches of `size` `listLoaded` calls started together (`Effect.all` with unbounded
   * concurrency / `Promise.all`), one batch after another; returns the number of calls completed.
   */
  readonly rpcBatches: (deadline: number, size: number) => Promise<number>
  /**
   * Workload 8c (lmstudio-effect only): the same batches over an `Effect.async` that the socket's
   * message event resolves, with no client work: what `Effect.all` itself costs.
   */
  readonly rpcBatchesCeiling?: (deadline: number, size: number) => Promise<number>
  /** Workload 9: `items` `listLoaded` calls with at most `concurrency` in flight (`Effect.forEach` / a pool). */
  readonly boundedForEach: (items: number, concurrency: number) => Promise<void>
  /** Workload 9c (lmstudio-effect only): the same over the bare `Effect.async` of 8c. */
  readonly boundedForEachCeiling?: (items: number, concurrency: number) => Promise<void>
  /** Workload 10: sequential streamed predictions of `tokens` fragments each; fragments and predictions done. */
  readonly streamPredictions: (deadline: number, tokens: number) => Promise<PredictionCount>
  /** Workload 11: sequential streamed predictions; latency (ms) from the call to each prediction's first fragment. */
  readonly firstFragment: (deadline: number, tokens: number) => Promise<Array<number>>
  /** Workload 12: `count` streamed predictions at once on this client; fragments received in all. */
  readonly concurrentPredictions: (count: number, tokens: number) => Promise<number>
  /** Workload 13: `embed(texts)` (one vector per text); the number of vectors. */
  readonly embed: (texts: ReadonlyArray<string>) => Promise<number>
  /** Workload 14: sequential `countTokens`; the number completed. */
  readonly countTokens: (deadline: number) => Promise<number>
  readonly close: () => Promise<void>
}

export const now = () => performance.now()


/** How many times `op` completes, one after another, before `deadline` (promise-based clients). */
export const countUntil = async (deadline: number, op: () => Promise<unknown>): Promise<number> => {
  let ops = 0
  while (now() < deadline) {
    await op()
    ops++
  }
  return ops
}

/** `size` calls of `op` at once (`Promise.all`), batch after batch, until `deadline`; calls completed. */
export const countInBatches = async (deadline: number, size: number, op: () => Promise<unknown>): Promise<number> => {
  let ops = 0
  while (now() < deadline) {
    await Promise.all(Array.from({ length: size }, op))
    ops += size
  }
  return ops
}

/** `items` calls of `op` with at most `concurrency` in flight (a pool of workers over a shared index). */
export const boundedPool = async (items: number, concurrency: number, op: (i: number) => Promise<unknown>): Promise<void> => {
  let next = 0
  const worker = async () => {
    while (next < items) await op(next++)
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, items) }, worker))
}

/** `lanes` concurrent `countUntil` loops; the total count. */
export const countInLanes = async (deadline: number, lanes: number, op: () => Promise<unknown>): Promise<number> => {
  const counts = await Promise.all(Array.from({ length: lanes }, () => countUntil(deadline, op)))
  return counts.reduce((a, b) => a + b, 0)
}
