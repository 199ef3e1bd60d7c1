/**
 * One benchmarked client in its own process (so clients never share a heap, a JIT or a GC), driven
 * by `bench/run.ts` over IPC:
 *
 *   parent → { type: "run", workload, durationMs }   child → { type: "sample", sample } | { type: "error", message }
 *   parent → { type: "close" }                        child exits
 *
 * Started as `node --expose-gc --import tsx bench/worker.ts <client> <baseUrl>`; it sends
 * `{ type: "ready" }` once its client is connected. A full GC runs before every sample so that
 * garbage from the previous sample is not billed to the next one.
 */
import { type ClientName, makeClient } from "./clients/index.js"
import { WORKLOADS } from "./workloads.js"

export type ToWorker =
  | { readonly type: "run"; readonly workload: number; readonly durationMs: number }
  | { readonly type: "close" }

export type FromWorker =
  | { readonly type: "ready" }
  | { readonly type: "sample"; readonly value: number; readonly ops: number; readonly elapsedMs: number }
  | { readonly type: "error"; readonly message: string }

const send = (message: FromWorker) => process.send?.(message)

const gc = (globalThis as { gc?: () => void }).gc

const main = async () => {
  const name = process.argv[2] as ClientName
  const baseUrl = process.argv[3] ?? ""
  const client = await makeClient(name, baseUrl)
  process.on("message", (message: ToWorker) => {
    if (message.type === "close") {
      void client.close().finally(() => process.exit(0))
      return
    }
    const workload = WORKLOADS.find((w) => w.id === message.workload)
    if (workload?.run === undefined) {
      send({ type: "error", message: `no in-process workload ${message.workload}` })
      return
    }
    gc?.()
    workload.run(client, performance.now() + message.durationMs).then(
      (sample) => send({ type: "sample", ...sample }),
      (error: unknown) => send({ type: "error", message: error instanceof Error ? error.message : String(error) })
    )
  })
  process.on("disconnect", () => process.exit(0))
  send({ type: "ready" })
}

main().catch((error: unknown) => {
  send({ type: "error", message: error instanceof Error ? error.stack ?? error.message : String(error) })
  process.exit(1)
})
