/**
 * The workloads of issue 6. Workloads 1–6 run inside a long-lived worker process per client
 * (`run`); workload 7 runs in a fresh `node` process per sample (`bench/fresh.mjs`).
 *
 * Model keys carry the number of progress packets the bench server sends per load (`~p<N>`).
 */
import type { BenchClient } from "./clients/index.js"

export type Better = "higher" | "lower"

export interface Sample {
  /** The measured value in the workload's unit. */
  readonly value: number
  /** Operations (or iterations) behind the value. */
  readonly ops: number
  /** Wall time the sample took, in ms. */
  readonly elapsedMs: number
}

export interface Workload {
  readonly id: number
  /** Stable key in results.json. */
  readonly key: string
  readonly title: string
  readonly unit: string
  readonly better: Better
  /** Throughput workloads are the ones the "≥ 1.0× official" target applies to. */
  readonly throughput: boolean
  /** Runs one sample until `deadline` (`performance.now()` ms); absent for fresh-process workloads. */
  readonly run?: (client: BenchClient, deadline: number) => Promise<Sample>
}

export const GET_OR_LOAD_PROGRESS = 100
export const GET_OR_LOAD_KEY = `bench-llm~p${GET_OR_LOAD_PROGRESS}`
export const LOAD_KEY = "bench-llm~p10"
export const CONCURRENT_RPCS = 100
export const CONCURRENT_LOADS = 1000
export const MEMORY_OPS = 10_000
/** Fragments the bench server streams per prediction (keep in step with bench/server.ts). */
export const PREDICTION_FRAGMENTS = 200

const timed = async <A>(body: () => Promise<A>): Promise<{ result: A; elapsedMs: number }> => {
  const start = performance.now()
  const result = await body()
  return { result, elapsedMs: performance.now() - start }
}

const perSecond = (ops: number, elapsedMs: number): Sample => ({ value: (ops * 1000) / elapsedMs, ops, elapsedMs })

const median = (values: ReadonlyArray<number>): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length === 0 ? Number.NaN : sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

export const WORKLOADS: ReadonlyArray<Workload> = [
  {
    id: 1,
    key: "sequentialRpc",
    title: "1. Sequential RPC round trips (listLoaded)",
    unit: "ops/s",
    better: "higher",
    throughput: true,
    run: async (client, deadline) => {
      const { elapsedMs, result } = await timed(() => client.sequentialRpc(deadline))
      return perSecond(result, elapsedMs)
    }
  },
  {
    id: 2,
    key: "concurrentRpc",
    title: `2. ${CONCURRENT_RPCS} concurrent RPCs in flight (listLoaded)`,
    unit: "ops/s",
    better: "higher",
    throughput: true,
    run: async (client, deadline) => {
      const { elapsedMs, result } = await timed(() => client.concurrentRpc(deadline, CONCURRENT_RPCS))
      return perSecond(result, elapsedMs)
    }
  },
  {
    id: 3,
    key: "getOrLoad",
    title: `3. model(key) get-or-load, ${GET_OR_LOAD_PROGRESS} progress packets, progress consumer`,
    unit: "loads/s",
    better: "higher",
    throughput: true,
    run: async (client, deadline) => {
      const { elapsedMs, result } = await timed(() => client.getOrLoad(deadline, GET_OR_LOAD_KEY))
      if (result.progressEvents !== result.ops * GET_OR_LOAD_PROGRESS) {
        throw new Error(
          `${client.name}: ${result.progressEvents} progress events for ${result.ops} loads (expected ${GET_OR_LOAD_PROGRESS} each)`
        )
      }
      return perSecond(result.ops, elapsedMs)
    }
  },
  {
    id: 4,
    key: "loadUnload",
    title: "4. loadNewInstance + unload cycles (10 progress packets)",
    unit: "cycles/s",
    better: "higher",
    throughput: true,
    run: async (client, deadline) => {
      const { elapsedMs, result } = await timed(() => client.loadUnload(deadline, LOAD_KEY))
      return perSecond(result, elapsedMs)
    }
  },
  {
    id: 5,
    key: "concurrentLoads",
    title: `5. ${CONCURRENT_LOADS.toLocaleString("en-US")} concurrent loads on one client (10 progress packets each)`,
    unit: "ms",
    better: "lower",
    throughput: true,
    run: async (client, deadline) => {
      // As many whole batches as fit (at least one); the sample is the median batch wall time.
      const batches: Array<number> = []
      const start = performance.now()
      do {
        batches.push((await timed(() => client.concurrentLoads(CONCURRENT_LOADS, LOAD_KEY))).elapsedMs)
      } while (performance.now() < deadline)
      return { value: median(batches), ops: batches.length, elapsedMs: performance.now() - start }
    }
  },
  {
    id: 6,
    key: "connectFirstCall",
    title: "6. Connect + first call (new client each time)",
    unit: "ms",
    better: "lower",
    throughput: false,
    run: async (client, deadline) => {
      const start = performance.now()
      const latencies = await client.connectFirstCall(deadline)
      return { value: median(latencies), ops: latencies.length, elapsedMs: performance.now() - start }
    }
  },
  {
    id: 9,
    key: "streamedPredictions",
    title: `9. Streamed predictions, ${PREDICTION_FRAGMENTS} fragments each, every fragment consumed`,
    unit: "fragments/s",
    better: "higher",
    throughput: true,
    run: async (client, deadline) => {
      const { elapsedMs, result } = await timed(() => client.predictions(deadline))
      if (result.fragments !== result.ops * PREDICTION_FRAGMENTS) {
        throw new Error(`${client.name}: ${result.fragments} fragments for ${result.ops} predictions`)
      }
      return perSecond(result.fragments, elapsedMs)
    }
  },
  {
    id: 7,
    key: "coldImport",
    title: "7a. Cold import of the package (fresh node process)",
    unit: "ms",
    better: "lower",
    throughput: false
  },
  {
    id: 8,
    key: "memory",
    title: `7b. RSS after ${MEMORY_OPS.toLocaleString("en-US")} operations (fresh process, after GC)`,
    unit: "MB",
    better: "lower",
    throughput: false
  }
]

export { median }
