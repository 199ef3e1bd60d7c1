// Workload 7, in a fresh plain `node` process (no tsx loader, so that nothing but the package is
// imported): cold import time of one client package, then resident memory after a fixed mix of
// operations against the bench server.
//
//   node --expose-gc bench/fresh.mjs <client> <entry> <baseUrl> <ops> [marginal]
//
// <client>: lmstudio-effect | @lmstudio/sdk | raw ws. <entry>: what to import (a file path for
// lmstudio-effect's built JS, a package name otherwise). <ops> = 0: import only. `marginal`: for
// lmstudio-effect, `effect` is imported first (untimed), so that the time is what an Effect user
// pays on top of it; the other clients import as usual. Prints one JSON line: { importMs } or
// { importMs, rssMB, heapUsedMB, heapBeforeMB, heapGrowthMB, rssBeforeOpsMB, opsMs }.
//
// The <ops> operations run in 100 lanes (100 in flight); in every lane, of each 10 operations one
// is a load-new-instance + unload cycle, one a get-or-load, one a 20-token prediction, one a
// countTokens, six are listLoaded RPCs (loads carry 10 progress packets). A warm-up of a tenth as
// many operations runs first; the heap is collected twice before it is read, before and after
// the operations; RSS is read at the end.
import { pathToFileURL } from "node:url"

const [clientName, entry, baseUrl, opsArg, modeArg] = process.argv.slice(2)
const OPS = Number(opsArg ?? 10_000)
const LANES = 100
const LOAD_KEY = "bench-llm~p10"
const MODEL_KEY = "bench-llm~p0"
const PROMPT = "Say something short ~t20"
const COUNT_TEXT = "How many tokens is this sentence?"
const specifier = entry.startsWith("/") ? pathToFileURL(entry).href : entry

if (modeArg === "marginal" && clientName === "lmstudio-effect") await import("effect")
const importStart = performance.now()
const mod = await import(specifier)
const importMs = performance.now() - importStart
if (OPS === 0) {
  process.stdout.write(`${JSON.stringify({ importMs })}\n`)
  process.exit(0)
}

const KINDS = ["loadUnload", "getOrLoad", "predict", "countTokens", "list", "list", "list", "list", "list", "list"]
const kindOf = (i) => KINDS[i % 10]

/** Runs the operations; resolves when all are done. Returns a closer. */
const clients = {
  async "lmstudio-effect"() {
    const Effect = await import("effect/Effect")
    const Scope = await import("effect/Scope")
    const Exit = await import("effect/Exit")
    const scope = Effect.runSync(Scope.make())
    const client = await Effect.runPromise(Scope.extend(mod.LMStudioClient.make({ baseUrl }), scope))
    const model = await Effect.runPromise(client.llm.model(MODEL_KEY))
    const lane = (l, perLane) =>
      Effect.gen(function*() {
        for (let i = 0; i < perLane; i++) {
          const kind = kindOf(i)
          if (kind === "loadUnload") {
            const handle = yield* client.llm.loadNewInstance(LOAD_KEY)
            yield* handle.unload
          } else if (kind === "getOrLoad") {
            yield* client.llm.model(`bench-llm-${l}~p10`)
          } else if (kind === "predict") {
            yield* model.respond(PROMPT)
          } else if (kind === "countTokens") {
            yield* model.countTokens(COUNT_TEXT)
          } else {
            yield* client.llm.listLoaded()
          }
        }
      })
    return {
      run: (perLane) =>
        Effect.runPromise(
          Effect.forEach(Array.from({ length: LANES }, (_, l) => l), (l) => lane(l, perLane), {
            concurrency: "unbounded",
            discard: true
          })
        ),
      close: () => Effect.runPromise(Scope.close(scope, Exit.void))
    }
  },
  async "@lmstudio/sdk"() {
    const silent = { info() {}, warn() {}, error() {}, debug() {} }
    const client = new mod.LMStudioClient({ baseUrl, logger: silent })
    const llm = await client.llm.model(MODEL_KEY, { verbose: false })
    const lane = async (l, perLane) => {
      for (let i = 0; i < perLane; i++) {
        const kind = kindOf(i)
        if (kind === "loadUnload") {
          const model = await client.llm.load(LOAD_KEY, { verbose: false })
          await model.unload()
        } else if (kind === "getOrLoad") {
          await client.llm.model(`bench-llm-${l}~p10`, { verbose: false })
        } else if (kind === "predict") {
          await llm.respond(PROMPT)
        } else if (kind === "countTokens") {
          await llm.countTokens(COUNT_TEXT)
        } else {
          await client.llm.listLoaded()
        }
      }
    }
    return {
      run: (perLane) => Promise.all(Array.from({ length: LANES }, (_, l) => lane(l, perLane))),
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
            resume?.(frame.message.info ?? frame.message.modelInfo)
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
    const { instanceReference } = await load("getOrLoad", { identifier: MODEL_KEY, loadConfigStack: { layers: [] } })
    const specifier = { type: "instanceReference", instanceReference }
    const lane = async (l, perLane) => {
      for (let i = 0; i < perLane; i++) {
        const kind = kindOf(i)
        if (kind === "loadUnload") {
          const { identifier } = await load("loadModel", { modelKey: LOAD_KEY, loadConfigStack: { layers: [] } })
          await call("unloadModel", { identifier })
        } else if (kind === "getOrLoad") {
          await load("getOrLoad", { identifier: `bench-llm-${l}~p10`, loadConfigStack: { layers: [] } })
        } else if (kind === "predict") {
          await load("predict", {
            modelSpecifier: specifier,
            history: { messages: [{ role: "user", content: [{ type: "text", text: PROMPT }] }] },
            predictionConfigStack: { layers: [{ layerName: "apiOverride", config: { fields: [] } }] }
          })
        } else if (kind === "countTokens") {
          await call("countTokens", { specifier, inputString: COUNT_TEXT })
        } else {
          await call("listLoaded")
        }
      }
    }
    return {
      run: (perLane) => Promise.all(Array.from({ length: LANES }, (_, l) => lane(l, perLane))),
      close: () => ws.close()
    }
  }
}

const make = clients[clientName]
if (make === undefined) throw new Error(`unknown client ${clientName}`)
const client = await make()
const perLane = Math.ceil(OPS / LANES)
await client.run(Math.max(10, Math.ceil(perLane / 10))) // warm-up: JIT, lazily built caches
const collect = () => {
  globalThis.gc?.()
  globalThis.gc?.()
  return process.memoryUsage()
}
const before = collect()
const rssBeforeOpsMB = before.rss / 2 ** 20
const opsStart = performance.now()
await client.run(perLane)
const opsMs = performance.now() - opsStart
const memory = collect()
process.stdout.write(
  `${
    JSON.stringify({
      importMs,
      rssMB: memory.rss / 2 ** 20,
      heapUsedMB: memory.heapUsed / 2 ** 20,
      heapBeforeMB: before.heapUsed / 2 ** 20,
      heapGrowthMB: (memory.heapUsed - before.heapUsed) / 2 ** 20,
      rssBeforeOpsMB,
      opsMs
    })
  }\n`
)
await client.close()
process.exit(0)
