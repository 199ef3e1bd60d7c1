/**
 * The workloads of issues 6 and 15. In-process workloads (1–6, 8–14) run inside a long-lived
 * worker process per client (`run`); workload 7 (import time, memory) runs in a fresh `node`
 * process per sample (`bench/fresh.mjs`).
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
  /** Only these clients run it (absent: all). */
  readonly clients?: ReadonlyArray<string>
}

export const GET_OR_LOAD_PROGRESS = 100
export const GET_OR_LOAD_KEY = `bench-llm~p${GET_OR_LOAD_PROGRESS}`
export const LOAD_KEY = "bench-llm~p10"
export const CONCURRENT_RPCS = 100
export const CONCURRENT_LOADS = 1000
export const MEMORY_OPS = 10_000
export const BATCH_SIZE = 100
export const FOR_EACH_ITEMS = 5_000
export const FOR_EACH_CONCURRENCY = 100
/** Fragments of the streamed reply of workload 10. */
export const REPLY_TOKENS = 2_000
/** Fragments of each reply of workloads 11 and 12. */
export const SHORT_REPLY_TOKENS = 200
export const CONCURRENT_PREDICTIONS = 50
export const EMBED_TEXTS = 1_000
const TEXTS = Array.from({ length: EMBED_TEXTS }, (_, i) => `Short text number ${i} to embed.`)

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
    key: "effectAllBatches",
    title: `8. Batches of ${BATCH_SIZE} concurrent RPCs: Effect.all (unbounded) / Promise.all`,
    unit: "ops/s",
    better: "higher",
    throughput: false,
    run: async (client, deadline) => {
      const { elapsedMs, result } = await timed(() => client.rpcBatches(deadline, BATCH_SIZE))
      return perSecond(result, elapsedMs)
    }
  },
  {
    id: 10,
    key: "effectAllCeiling",
    title: `8c. Ceiling: the same batches over Effect.async resolved by a bare socket (no client work)`,
    unit: "ops/s",
    better: "higher",
    throughput: false,
    clients: ["lmstudio-effect"],
    run: async (client, deadline) => {
      if (client.rpcBatchesCeiling === undefined) throw new Error(`${client.name} has no ceiling workload`)
      const { elapsedMs, result } = await timed(() => client.rpcBatchesCeiling!(deadline, BATCH_SIZE))
      return perSecond(result, elapsedMs)
    }
  },
  {
    id: 11,
    key: "forEachBounded",
    title: `9. Effect.forEach over ${FOR_EACH_ITEMS.toLocaleString("en-US")} items, concurrency ${FOR_EACH_CONCURRENCY} (listLoaded)`,
    unit: "ops/s",
    better: "higher",
    throughput: false,
    run: async (client, deadline) => {
      let ops = 0
      const { elapsedMs } = await timed(async () => {
        do {
          await client.boundedForEach(FOR_EACH_ITEMS, FOR_EACH_CONCURRENCY)
          ops += FOR_EACH_ITEMS
        } while (performance.now() < deadline)
      })
      return perSecond(ops, elapsedMs)
    }
  },
  {
    id: 19,
    key: "forEachCeiling",
    title: `9c. Ceiling: the same forEach over Effect.async resolved by a bare socket (no client work)`,
    unit: "ops/s",
    better: "higher",
    throughput: false,
    clients: ["lmstudio-effect"],
    run: async (client, deadline) => {
      if (client.boundedForEachCeiling === undefined) throw new Error(`${client.name} has no ceiling workload`)
      let ops = 0
      const { elapsedMs } = await timed(async () => {
        do {
          await client.boundedForEachCeiling!(FOR_EACH_ITEMS, FOR_EACH_CONCURRENCY)
          ops += FOR_EACH_ITEMS
        } while (performance.now() < deadline)
      })
      return perSecond(ops, elapsedMs)
    }
  },
  {
    id: 12,
    key: "predictionFragments",
    title: `10. Streamed prediction, ${REPLY_TOKENS.toLocaleString("en-US")}-token reply at zero pacing`,
    unit: "fragments/s",
    better: "higher",
    throughput: false,
    run: async (client, deadline) => {
      const { elapsedMs, result } = await timed(() => client.streamPredictions(deadline, REPLY_TOKENS))
      if (result.fragments !== result.predictions * REPLY_TOKENS) {
        throw new Error(`${client.name}: ${result.fragments} fragments for ${result.predictions} predictions of ${REPLY_TOKENS}`)
      }
      return perSecond(result.fragments, elapsedMs)
    }
  },
  {
    id: 13,
    key: "firstFragment",
    title: `11. Time to first fragment (${SHORT_REPLY_TOKENS}-token replies, one after another)`,
    unit: "ms",
    better: "lower",
    throughput: false,
    run: async (client, deadline) => {
      const start = performance.now()
      const latencies = await client.firstFragment(deadline, SHORT_REPLY_TOKENS)
      return { value: median(latencies), ops: latencies.length, elapsedMs: performance.now() - start }
    }
  },
  {
    id: 14,
    key: "concurrentPredictions",
    title: `12. ${CONCURRENT_PREDICTIONS} concurrent predictions on one client (${SHORT_REPLY_TOKENS} tokens each)`,
    unit: "ms",
    better: "lower",
    throughput: false,
    run: async (client, deadline) => {
      const batches: Array<number> = []
      const start = performance.now()
      do {
        const { elapsedMs, result } = await timed(() => client.concurrentPredictions(CONCURRENT_PREDICTIONS, SHORT_REPLY_TOKENS))
        if (result !== CONCURRENT_PREDICTIONS * SHORT_REPLY_TOKENS) throw new Error(`${client.name}: ${result} fragments`)
        batches.push(elapsedMs)
      } while (performance.now() < deadline)
      return { value: median(batches), ops: batches.length, elapsedMs: performance.now() - start }
    }
  },
  {
    id: 15,
    key: "embed",
    title: `13. embed(${EMBED_TEXTS.toLocaleString("en-US")} short texts), default options (768-dimension vectors)`,
    unit: "embeddings/s",
    better: "higher",
    throughput: false,
    run: async (client, deadline) => {
      let ops = 0
      const { elapsedMs } = await timed(async () => {
        do {
          const vectors = await client.embed(TEXTS)
          if (vectors !== EMBED_TEXTS) throw new Error(`${client.name}: ${vectors} vectors for ${EMBED_TEXTS} texts`)
          ops += vectors
        } while (performance.now() < deadline)
      })
      return perSecond(ops, elapsedMs)
    }
  },
  {
    id: 16,
    key: "countTokens",
    title: "14. Sequential countTokens",
    unit: "ops/s",
    better: "higher",
    throughput: false,
    run: async (client, deadline) => {
      const { elapsedMs, result } = await timed(() => client.countTokens(deadline))
      return perSecond(result, elapsedMs)
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
  },
  {
    id: 17,
    key: "heapGrowth",
    title: `7c. Heap growth over ${MEMORY_OPS.toLocaleString("en-US")} mixed operations (after GC, after − before)`,
    unit: "MB",
    better: "lower",
    throughput: false
  },
  {
    id: 18,
    key: "marginalImport",
    title: "7d. Import in a process that already imported effect (official, ws: plain import)",
    unit: "ms",
    better: "lower",
    throughput: false
  }
]

export { median }

/** The number a workload's title starts with (`1`, `8c`, `7a`): how `--only` and profile.ts name it. */
export const tagOf = (workload: Workload): string => workload.title.split(" ")[0]!.replace(/\.$/, "")

/** A workload by its tag (or, for scripts, its numeric id). */
export const workloadByTag = (tag: string): Workload | undefined =>
  WORKLOADS.find((w) => tagOf(w) === tag) ?? WORKLOADS.find((w) => String(w.id) === tag)
