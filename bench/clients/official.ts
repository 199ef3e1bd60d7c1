/** `@lmstudio/sdk` 1.5.0: `await` loops, default options except a silent logger and `verbose: false`. */
import { LMStudioClient as OfficialClient } from "@lmstudio/sdk"
import {
  type BenchClient,
  boundedPool,
  countInBatches,
  countInLanes,
  countUntil,
  EMBEDDING_MODEL_KEY,
  now,
  PREDICTION_MODEL_KEY,
  predictionPrompt
} from "./shared.js"

const silentLogger = { info() {}, warn() {}, error() {}, debug() {} }

export const makeOfficialClient = async (baseUrl: string): Promise<BenchClient> => {
  const client = new OfficialClient({ baseUrl, logger: silentLogger })
  await client.llm.listLoaded() // connect outside the measurement, like the other clients' warm-up

  const listLoaded = () => client.llm.listLoaded()
  const llm = await client.llm.model(PREDICTION_MODEL_KEY, { verbose: false })
  const embedder = await client.embedding.model(EMBEDDING_MODEL_KEY, { verbose: false })

  /** One streamed prediction: `for await` over `respond`; fragments received. */
  const stream = async (tokens: number, onFirst?: () => void): Promise<number> => {
    let fragments = 0
    for await (const _fragment of llm.respond(predictionPrompt(tokens))) {
      if (fragments++ === 0) onFirst?.()
    }
    return fragments
  }

  return {
    name: "@lmstudio/sdk",
    sequentialRpc: (deadline) => countUntil(deadline, listLoaded),
    concurrentRpc: (deadline, lanes) => countInLanes(deadline, lanes, listLoaded),
    getOrLoad: async (deadline, key) => {
      let progressEvents = 0
      const onProgress = () => {
        progressEvents++
      }
      const ops = await countUntil(deadline, () => client.llm.model(key, { onProgress, verbose: false }))
      return { ops, progressEvents }
    },
    loadUnload: (deadline, key) =>
      countUntil(deadline, async () => {
        const model = await client.llm.load(key, { verbose: false })
        await model.unload()
      }),
    concurrentLoads: async (count, key) => {
      await Promise.all(Array.from({ length: count }, () => client.llm.load(key, { verbose: false })))
    },
    connectFirstCall: async (deadline) => {
      const latencies: Array<number> = []
      while (now() < deadline) {
        const start = now()
        const fresh = new OfficialClient({ baseUrl, logger: silentLogger })
        await fresh.llm.listLoaded()
        latencies.push(now() - start)
        await fresh[Symbol.asyncDispose]()
      }
      return latencies
    },
    rpcBatches: (deadline, size) => countInBatches(deadline, size, listLoaded),
    boundedForEach: (items, concurrency) => boundedPool(items, concurrency, listLoaded),
    streamPredictions: async (deadline, tokens) => {
      let predictions = 0
      let fragments = 0
      while (now() < deadline) {
        fragments += await stream(tokens)
        predictions++
      }
      return { predictions, fragments }
    },
    firstFragment: async (deadline, tokens) => {
      const latencies: Array<number> = []
      while (now() < deadline) {
        const start = now()
        await stream(tokens, () => latencies.push(now() - start))
      }
      return latencies
    },
    concurrentPredictions: async (count, tokens) => {
      const counts = await Promise.all(Array.from({ length: count }, () => stream(tokens)))
      return counts.reduce((a, b) => a + b, 0)
    },
    embed: async (texts) => (await embedder.embed([...texts])).length,
    countTokens: (deadline) => countUntil(deadline, () => llm.countTokens("How many tokens is this sentence?")),
    close: () => client[Symbol.asyncDispose]()
  }
}

