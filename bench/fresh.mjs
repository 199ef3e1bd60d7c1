// Workload 7, in a fresh plain `node` process (no tsx loader, so that nothing but the package is
// imported): cold import time of one client package, then resident memory after a fixed mix of
// operations against the bench server.
//
//   node --expose-gc bench/fresh.mjs <client> <entry> <baseUrl> <ops>
//
// <client>: lmstudio-effect | @lmstudio/sdk | raw ws. <entry>: what to import (a file path for
// lmstudio-effect's built JS, a package name otherwise). <ops> = 0: import only. Prints one JSON
// line: { importMs } or { importMs, rssMB, heapUsedMB, rssBeforeOpsMB, opsMs }.
//
// The <ops> operations run in 100 lanes (100 in flight); in every lane, of each 10 operations one
// is a load-new-instance + unload cycle, one a get-or-load, eight are listLoaded RPCs (loads carry
// 10 progress packets). After them the heap is collected twice before RSS is read.
import { pathToFileURL } from "node:url"

const [clientName, entry, baseUrl, opsArg] = process.argv.slice(2)
const OPS = Number(opsArg ?? 10_000)
const LANES = 100
const LOAD_KEY = "bench-llm~p10"
const specifier = entry.startsWith("/") ? pathToFileURL(entry).href : entry

const importStart = performance.now()
const mod = await import(specifier)
const importMs = performance.now() - importStart
if (OPS === 0) {
  process.stdout.write(`${JSON.stringify({ importMs })}\n`)
  process.exit(0)
}

const perLane = Math.ceil(OPS / LANES)
const kindOf = (i) => (i % 10 === 0 ? "loadUnload" : i % 10 === 1 ? "getOrLoad" : "list")

/** Runs the operations; resolves when all are done. Returns a closer. */
const clients = {
  async "lmstudio-effect"() {
    const Effect = await import("effect/Effect")
    const Scope = await import("effect/Scope")
    const Exit = await import("effect/Exit")
    const scope = Effect.runSync(Scope.make())
    const client = await Effect.runPromise(Scope.extend(mod.LMStudioClient.make({ baseUrl }), scope))
    await Effect.runPromise(client.llm.listLoaded())
    const lane = (l) =>
      Effect.gen(function*() {
        for (let i = 0; i < perLane; i++) {
          const kind = kindOf(i)
          if (kind === "loadUnload") {
            const handle = yield* client.llm.loadNewInstance(LOAD_KEY)
            yield* handle.unload
          } else if (kind === "getOrLoad") {
            yield* client.llm.model(`bench-llm-${l}~p10`)
          } else {
            yield* client.llm.listLoaded()
          }
        }
      })
    return {
      run: () =>
        Effect.runPromise(
          Effect.forEach(Array.from({ length: LANES }, (_, l) => l), lane, { concurrency: "unbounded", discard: true })
        ),
      close: () => Effect.runPromise(Scope.close(scope, Exit.void))
    }
  },
  async "@lmstudio/sdk"() {
    const silent = { info() {}, warn() {}, error() {}, debug() {} }
    const client = new mod.LMStudioClient({ baseUrl, logger: silent })
    await client.llm.listLoaded()
    const lane = async (l) => {
      for (let i = 0; i < perLane; i++) {
        const kind = kindOf(i)
        if (kind === "loadUnload") {
          const model = await client.llm.load(LOAD_KEY, { verbose: false })
          await model.unload()
        } else if (kind === "getOrLoad") {
          await client.llm.model(`bench-llm-${l}~p10`, { verbose: false })
        } else {
          await client.llm.listLoaded()
        }
      }
    }
    return {
      run: () => Promise.all(Array.from({ length: LANES }, (_, l) => lane(l))),
      close: () => client[Symbol.asyncDispose]()
    }
  },
  async "raw ws"() {
    const ws = new mod.WebSocket(`${baseUrl}/llm`, { perMessageDeflate: false })
    let nextId = 0
    const pending = new Map()
    await new Promise((resolve, reject) => {
      let authenticated = false
      ws.on("open", () => ws.send(JSON.stringify({ authVersion: 1, clientIdentifier: "bench-raw", clientPasskey: "bench-raw" })))
      ws.on("error", reject)
      ws.on("message", (data) => {
        const frame = JSON.parse(data.toString())
        if (!authenticated) {
          authenticated = true
          return resolve()
        }
        if (frame.callId !== undefined) {
          const resume = pending.get(frame.callId)
          pending.delete(frame.callId)
          resume?.(frame.result)
        } else if (frame.type === "channelSend") {
          const type = frame.message.type
          if (type === "success" || type === "loadSuccess" || type === "alreadyLoaded") {
            const resume = pending.get(frame.channelId)
            pending.delete(frame.channelId)
            resume?.(frame.message.info.identifier)
          }
        }
      })
    })
    const call = (endpoint, parameter) =>
      new Promise((resolve) => {
        const callId = nextId++
        pending.set(callId, resolve)
        ws.send(JSON.stringify({ type: "rpcCall", endpoint, callId, parameter }))
      })
    const load = (endpoint, creationParameter) =>
      new Promise((resolve) => {
        const channelId = nextId++
        pending.set(channelId, resolve)
        ws.send(JSON.stringify({ type: "channelCreate", endpoint, channelId, creationParameter }))
      })
    const lane = async (l) => {
      for (let i = 0; i < perLane; i++) {
        const kind = kindOf(i)
        if (kind === "loadUnload") {
          const identifier = await load("loadModel", { modelKey: LOAD_KEY, loadConfigStack: { layers: [] } })
          await call("unloadModel", { identifier })
        } else if (kind === "getOrLoad") {
          await load("getOrLoad", { identifier: `bench-llm-${l}~p10`, loadConfigStack: { layers: [] } })
        } else {
          await call("listLoaded")
        }
      }
    }
    return {
      run: () => Promise.all(Array.from({ length: LANES }, (_, l) => lane(l))),
      close: () => ws.close()
    }
  }
}

const make = clients[clientName]
if (make === undefined) throw new Error(`unknown client ${clientName}`)
const client = await make()
globalThis.gc?.()
const rssBeforeOpsMB = process.memoryUsage().rss / 2 ** 20
const opsStart = performance.now()
await client.run()
const opsMs = performance.now() - opsStart
globalThis.gc?.()
globalThis.gc?.()
const memory = process.memoryUsage()
process.stdout.write(
  `${JSON.stringify({ importMs, rssMB: memory.rss / 2 ** 20, heapUsedMB: memory.heapUsed / 2 ** 20, rssBeforeOpsMB, opsMs })}\n`
)
await client.close()
process.exit(0)
