/**
 * The three benchmarked clients behind one interface. Each workload loop is written the way a user
 * of that client would write it: Effect programs for lmstudio-effect (one `runPromise` per
 * sample, not per operation), `await` loops for `@lmstudio/sdk`, and callbacks over a bare socket
 * for the raw `ws` floor. Each client lives in its own module, loaded on demand, so that a worker
 * process only ever loads the client it measures.
 *
 * Every method runs until `deadline` (a `performance.now()` timestamp) and returns what it did, so
 * that samples have a fixed duration whatever the client's speed.
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

export const makeClient = async (name: ClientName, baseUrl: string): Promise<BenchClient> => {
  switch (name) {
    case "lmstudio-effect":
      return (await import("./effect.js")).makeEffectClient(baseUrl)
    case "@lmstudio/sdk":
      return (await import("./official.js")).makeOfficialClient(baseUrl)
    case "raw ws":
      return (await import("./raw.js")).makeRawClient(baseUrl)
  }
}

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
