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
  /** Workload 9: sequential streamed predictions on a loaded model, counting every fragment. */
  readonly predictions: (deadline: number) => Promise<{ readonly ops: number; readonly fragments: number }>
  /** Workload 6: new client → first `listLoaded` → close, repeatedly; latencies (ms) up to the first result. */
  readonly connectFirstCall: (deadline: number) => Promise<Array<number>>
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

/** `lanes` concurrent `countUntil` loops; the total count. */
export const countInLanes = async (deadline: number, lanes: number, op: () => Promise<unknown>): Promise<number> => {
  const counts = await Promise.all(Array.from({ length: lanes }, () => countUntil(deadline, op)))
  return counts.reduce((a, b) => a + b, 0)
}
