/** `@lmstudio/sdk` 1.5.0: `await` loops, default options except a silent logger and `verbose: false`. */
import { LMStudioClient as OfficialClient } from "@lmstudio/sdk"
import { type BenchClient, countInLanes, countUntil, now } from "./shared.js"

const silentLogger = { info() {}, warn() {}, error() {}, debug() {} }

export const makeOfficialClient = async (baseUrl: string): Promise<BenchClient> => {
  const client = new OfficialClient({ baseUrl, logger: silentLogger })
  await client.llm.listLoaded() // connect outside the measurement, like the other clients' warm-up

  const listLoaded = () => client.llm.listLoaded()

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
    predictions: async (deadline) => {
      const model = await client.llm.model()
      let fragments = 0
      const ops = await countUntil(deadline, async () => {
        for await (const _fragment of model.respond("Tell me a story.")) fragments++
      })
      return { ops, fragments }
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
    close: () => client[Symbol.asyncDispose]()
  }
}

