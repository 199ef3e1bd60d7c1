/**
 * `npm run bench` (`tsx bench/run.ts [--rounds N] [--quick] [--duration ms] [--warmup ms]
 * [--memory-rounds N] [--clients a,b] [--only 1,2,7] [--write]`):
 * lmstudio-effect vs `@lmstudio/sdk@1.5.0` vs raw `ws`, in one process tree and one run.
 *
 * - The protocol server (`bench/server.ts`) runs in its own process.
 * - Each client runs in its own long-lived worker process (`bench/worker.ts`), warmed up first.
 *   Only one worker works at a time.
 * - Rounds are interleaved: in every round each workload runs once per client, A B C, with the
 *   client order rotated each round so that no client always goes first.
 * - Workload 7 (cold import, memory) runs in a fresh plain `node` process per client per round
 *   (`bench/fresh.mjs`).
 *
 * Writes `bench/results.md` and `bench/results.json`.
 */
import { type ChildProcess, execFile, fork } from "node:child_process"
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs"
import os from "node:os"
import { join, relative } from "node:path"
import { promisify } from "node:util"
import { transpile } from "./build.js"
import { CLIENTS, type ClientName } from "./clients/index.js"
import { BENCH_DIR, ROOT_DIR, startServer } from "./serverProcess.js"
import type { FromWorker, ToWorker } from "./worker.js"
import { median, MEMORY_OPS, tagOf, type Workload, WORKLOADS } from "./workloads.js"

const execFileAsync = promisify(execFile)

// -------------------------------------------------------------------------------------------------
// Options
// -------------------------------------------------------------------------------------------------

const args = process.argv.slice(2)
const flag = (name: string) => args.includes(name)
const option = (name: string): number | undefined => {
  const index = args.indexOf(name)
  const value = index === -1 ? undefined : Number(args[index + 1])
  return value === undefined || Number.isNaN(value) ? undefined : value
}

const list = (name: string): Array<string> | undefined => {
  const index = args.indexOf(name)
  return index === -1 ? undefined : (args[index + 1] ?? "").split(",").map((x) => x.trim()).filter((x) => x !== "")
}

const quick = flag("--quick")
/** `--clients lmstudio-effect,@lmstudio/sdk`: a subset of clients (for quick comparisons). */
const selectedClients = (list("--clients") ?? CLIENTS).filter((c): c is ClientName => CLIENTS.includes(c as ClientName))
/**
 * `--only 1,3,8c,7a`: a subset of workloads, by the number their title starts with (7a = cold
 * import, 7b and 7c = the memory process, 7d = import after effect).
 */
const onlyTags = list("--only")
const selectedWorkloads = new Set(
  WORKLOADS.filter((w) => onlyTags === undefined || onlyTags.includes(tagOf(w))).map((w) => w.id)
)
/** A partial or quick run prints its table but leaves results.md/json alone (unless `--write`). */
const partial = !flag("--write") &&
  (quick || selectedClients.length < CLIENTS.length || selectedWorkloads.size < WORKLOADS.length)
const config = {
  rounds: option("--rounds") ?? (quick ? 2 : 5),
  /** Target duration of one measured sample, ms (workload 5 runs at least one whole batch). */
  sampleMs: option("--duration") ?? (quick ? 200 : 500),
  /** Warm-up per workload per client before the first round, ms. */
  warmupMs: option("--warmup") ?? (quick ? 300 : 800),
  memoryOps: quick ? 2_000 : MEMORY_OPS,
  /** Rounds that also run the (slow) memory process, spread over the run. */
  memoryRounds: 0,
  quick
}

config.memoryRounds = Math.min(config.rounds, option("--memory-rounds") ?? (quick ? 1 : 3))

/** Round indexes (0-based) that measure memory: evenly spread, first and last included. */
const memoryRoundSet = new Set(
  Array.from(
    { length: config.memoryRounds },
    (_, i) => config.memoryRounds === 1 ? 0 : Math.round((i * (config.rounds - 1)) / (config.memoryRounds - 1))
  )
)

const log = (message: string) => process.stderr.write(`${message}\n`)

// -------------------------------------------------------------------------------------------------
// What lmstudio-effect's cold import loads
// -------------------------------------------------------------------------------------------------

interface EffectEntry {
  /** Path of the JS entry point fresh processes import. */
  readonly path: string
  /** Extra node flags (the tsx loader in the last-resort fallback). */
  readonly nodeArgs: ReadonlyArray<string>
  readonly description: string
}

const newestMtime = (dir: string): number => {
  let newest = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs)
  }
  return newest
}

/**
 * `dist/index.js` when it exists and is newer than every file in src/; otherwise src/ transpiled
 * file by file (no bundling, same module graph as dist/) with esbuild into bench/.build/; tsx on
 * src/ only if esbuild is unavailable.
 */
const prepareEffectEntry = async (): Promise<EffectEntry> => {
  const srcDir = join(ROOT_DIR, "src")
  const dist = join(ROOT_DIR, "dist", "index.js")
  if (existsSync(dist) && statSync(dist).mtimeMs >= newestMtime(srcDir)) {
    return { path: dist, nodeArgs: [], description: "dist/index.js (the built package)" }
  }
  const why = existsSync(dist) ? "dist/ is older than src/" : "there is no dist/"
  try {
    const outdir = join(BENCH_DIR, ".build", "src")
    await transpile([srcDir], srcDir, outdir)
    return {
      path: join(outdir, "index.js"),
      nodeArgs: [],
      description: `src/ transpiled to plain JS (esbuild, one file per module, like tsc's dist/) in bench/.build/src/, because ${why}`
    }
  } catch (error) {
    log(`esbuild unavailable (${String(error)}); falling back to tsx on src/`)
    return {
      path: join(srcDir, "index.ts"),
      nodeArgs: ["--import", "tsx"],
      description: `src/index.ts through the tsx loader, because ${why} and esbuild was unavailable (includes tsx's own start-up cost)`
    }
  }
}

// -------------------------------------------------------------------------------------------------
// Workers
// -------------------------------------------------------------------------------------------------

interface Worker {
  readonly name: ClientName
  child: ChildProcess
  pending: ((message: FromWorker) => void) | undefined
}

const spawnWorker = (name: ClientName, baseUrl: string): Promise<Worker> =>
  new Promise((resolve, reject) => {
    const child = fork(join(BENCH_DIR, "worker.ts"), [name, baseUrl], {
      cwd: ROOT_DIR,
      execArgv: ["--expose-gc", "--import", "tsx"],
      stdio: ["ignore", "inherit", "inherit", "ipc"]
    })
    const worker: Worker = { name, child, pending: undefined }
    child.on("message", (message: FromWorker) => {
      if (message.type === "ready") return resolve(worker)
      const pending = worker.pending
      worker.pending = undefined
      if (pending !== undefined) pending(message)
      else if (message.type === "error") reject(new Error(`${name} worker: ${message.message}`))
    })
    child.once("exit", (code) => {
      const pending = worker.pending
      worker.pending = undefined
      pending?.({ type: "error", message: `worker exited (code ${code})` })
      reject(new Error(`${name} worker exited (code ${code})`))
    })
  })

const runInWorker = (worker: Worker, workload: Workload, durationMs: number): Promise<FromWorker> => {
  // Generous: a sample normally takes durationMs (workload 5: at least one batch of loads).
  const timeoutMs = Math.max(60_000, durationMs * 20)
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      worker.pending = undefined
      resolve({ type: "error", message: `timed out after ${timeoutMs} ms` })
    }, timeoutMs)
    worker.pending = (message) => {
      clearTimeout(timer)
      resolve(message)
    }
    worker.child.send({ type: "run", workload: workload.id, durationMs } satisfies ToWorker)
  })
}

const closeWorker = (worker: Worker) =>
  new Promise<void>((resolve) => {
    if (worker.child.exitCode !== null) return resolve()
    const timer = setTimeout(() => {
      worker.child.kill()
      resolve()
    }, 5_000)
    worker.child.once("exit", () => {
      clearTimeout(timer)
      resolve()
    })
    worker.child.send({ type: "close" } satisfies ToWorker)
  })

// -------------------------------------------------------------------------------------------------
// Fresh processes (workload 7)
// -------------------------------------------------------------------------------------------------

interface FreshResult {
  readonly importMs: number
  readonly rssMB?: number
  readonly heapUsedMB?: number
  readonly heapBeforeMB?: number
  readonly heapGrowthMB?: number
  readonly rssBeforeOpsMB?: number
  readonly opsMs?: number
}

/** `ops` = 0: import only; `marginal`: lmstudio-effect imports `effect` first (untimed). */
const runFresh = async (
  name: ClientName,
  effectEntry: EffectEntry,
  baseUrl: string,
  ops: number,
  marginal = false
): Promise<FreshResult> => {
  const entry = name === "lmstudio-effect" ? effectEntry.path : name === "@lmstudio/sdk" ? "@lmstudio/sdk" : "ws"
  const nodeArgs = name === "lmstudio-effect" ? effectEntry.nodeArgs : []
  const { stdout } = await execFileAsync(
    process.execPath,
    ["--expose-gc", ...nodeArgs, join(BENCH_DIR, "fresh.mjs"), name, entry, baseUrl, String(ops), ...(marginal ? ["marginal"] : [])],
    { cwd: ROOT_DIR, timeout: 180_000 }
  )
  return JSON.parse(stdout.trim().split("\n").at(-1) ?? "{}") as FreshResult
}

// -------------------------------------------------------------------------------------------------
// Statistics and report
// -------------------------------------------------------------------------------------------------

interface ClientStats {
  readonly samples: Array<number>
  readonly errors: Array<string>
  median: number
  min: number
  max: number
  /** Relative performance vs the official client / raw ws: > 1 = better than the reference. */
  vsOfficial: number
  vsRaw: number
}

type Results = Record<string, Record<ClientName, ClientStats>>

const emptyStats = (): ClientStats => ({
  samples: [],
  errors: [],
  median: Number.NaN,
  min: Number.NaN,
  max: Number.NaN,
  vsOfficial: Number.NaN,
  vsRaw: Number.NaN
})

/** `NaN` (shown as —) when a value is not positive: a ratio of heap growths near zero means nothing. */
const relativePerformance = (workload: Workload, value: number, reference: number) =>
  !(value > 0 && reference > 0) ? Number.NaN : workload.better === "higher" ? value / reference : reference / value

const finish = (results: Results) => {
  for (const workload of WORKLOADS) {
    const row = results[workload.key]!
    for (const name of CLIENTS) {
      const stats = row[name]
      stats.median = median(stats.samples)
      stats.min = stats.samples.length === 0 ? Number.NaN : Math.min(...stats.samples)
      stats.max = stats.samples.length === 0 ? Number.NaN : Math.max(...stats.samples)
    }
    for (const name of CLIENTS) {
      const stats = row[name]
      stats.vsOfficial = relativePerformance(workload, stats.median, row["@lmstudio/sdk"].median)
      stats.vsRaw = relativePerformance(workload, stats.median, row["raw ws"].median)
    }
  }
}

const fmt = (value: number): string => {
  if (!Number.isFinite(value)) return "—"
  const abs = Math.abs(value)
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : 2
  return value.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits })
}
const fmtRatio = (value: number) => (Number.isFinite(value) ? `${value.toFixed(2)}×` : "—")

/** Why a target is missed, from the profiles (shown only when it is; see "Where the time goes"). */
const MISSED_REASONS: Record<string, string> = {
  effectAllBatches: "Effect.all itself is the bound: its ceiling (8c, no client work) is about as fast as the official " +
    "Promise.all, so 1.5× is out of reach for any client; see the profile below",
  effectAllCeiling: "forking 100 fibers per batch dominates both; the client's own work per call (socket write, " +
    "routing, decoding 3 instance infos, 3 handles) is the rest",
  concurrentLoads: "per load, the caller's fiber, its channel and its handle (packets are read in the socket's " +
    "listener: no fiber, mailbox or Deferred of its own); with 1,000 loads in flight, garbage collection is ≈ 35% of " +
    "the profile",
  predictionFragments: "per-chunk Stream overhead when chunks are small",
  embed: "one RPC per text, 16 in flight by default",
  firstFragment: "the consumer's Stream.runFold sets up its own fiber, scope and channel executor before the " +
    "request leaves; counted with op supervision, about 110 Effect ops from the call to channelCreate and 25 from the " +
    "first frame to the first fragment, so the rest is the loopback round trip and scheduling on the shared machine",
  concurrentPredictions: "the consumer's Stream is the bound: 50 concurrent respond (no Stream) cost 0.6–0.8 ms of CPU " +
    "per 200-token prediction against 1.35–1.5 ms through respondStream and Stream.runFold; every wake-up is a pull " +
    "through the Stream's channel executor, and a bare Stream.runFold over three chunks is itself ~770 Effect ops",
  heapGrowth: "a one-time step, not retention per operation: lmstudio-effect's growth was 0.62–0.64 MB after " +
    "10,000 operations and 0.66–0.86 MB after 30,000 (same warm-up), so it does not grow with the operations",
  loadUnload: "unload addresses the instance by reference: a getModelInfo lookup, then unloadModel, so a cycle " +
    "is three round trips against the official client's two (no change from this issue: against main without it, " +
    "alternating processes, 686–806 vs 700–777 cycles/s)",
  connectFirstCall: "a few ms of connect and authenticate; against main without this issue's changes, alternating " +
    "processes, 5.1–6.4 vs 4.5–5.7 ms: noise of the loaded machine",
  marginalImport: "about 60 ES modules of its own plus @effect/platform's Socket modules, each resolved, compiled and " +
    "linked, against one bundled file for the official SDK; module-level work is ≈ 30 ms of it",
  coldImport: "loading effect itself costs about as much as the whole official SDK",
  memory: "Effect's own modules (compare 7c: growth per operation)"
}

/** What the CPU profiles and op counts of issue 15 and its follow-up showed (shares of the samples; load averages 1–20). */
const PROFILE_NOTES: ReadonlyArray<string> = [
  "- **8c, the `Effect.all` ceiling** (batches of 100 over a bare `Effect.async`): garbage collection ≈ 17% of the " +
    "samples, then Effect's fiber runtime: forking each of the 100 fibers (`unsafeForkUnstarted`, `FiberRefs.forkAs`), " +
    "joining them back (`inheritAll` → `FiberRefs.joinAs` / `unsafeUpdateAs`), `setExitValue`, observers and " +
    "`collectExits`; the socket work (ws framing, `JSON.parse`, `writev`) is under 10%. CPU per RPC (load ≈ 7): " +
    "ceiling 79–124 µs, lmstudio-effect 137–167 µs, `@lmstudio/sdk`'s `Promise.all` 315 µs at load 20 (wall-clock it " +
    "keeps up with the ceiling). The same 100 fibers reused by `Effect.forEach` (9c) cost 50–75 µs per call: the per-batch " +
    "forks are the cost, not the client.",
  "- **`listLoaded` before issue 15**: building every handle's operations (`respond`, `embed`, `tokenize`, … closures " +
    "and span wrappers; three handles per call) was the largest client cost, then the Schema decode of the three " +
    "instance infos (15–19 µs per result, more than `JSON.parse` of the frame). Both are gone: operations are built " +
    "on first use, and infos decode through a fast path compiled from the same Schema (≈ 5 µs).",
  "- **10, streamed prediction**: 6 µs of CPU per fragment for lmstudio-effect against 17 µs for `@lmstudio/sdk`; the " +
    "largest single self time is `JSON.parse` of the frames (≈ 8%).",
  "- **5, 1,000 concurrent loads**: packets are read synchronously in the socket's listener (a channel's `reader`), " +
    "not by a fiber and a mailbox per load, and a load waits on plain waiter lists instead of two Deferreds (~0.4 KB " +
    "each). Counted per load with a Supervisor (op supervision), 100 at once: 130 → 93 Effect ops, 2 → 1 fibers (the " +
    "caller's own), 4.1 → 2 suspensions. Garbage collection is ≈ 35% of the samples with 1,000 loads in flight; the " +
    "rest is spread over ws framing, `JSON.parse` and Effect's run loop.",
  "- **11, 12, streamed predictions**: a prediction stream is one channel loop with one finaliser (no Scope, no " +
    "`unwrapScoped` layers), its inactivity timeout is kept by the namespace's sweeper (no watchdog fiber), and its " +
    "packets are read as they arrive into an inbox that wakes the consumer once per I/O phase. Counted per " +
    "1-token prediction: `respond` 137 → 66 Effect ops, 1 → 0 fibers, 5 → 1.9 suspensions; `respondStream` under " +
    "`Stream.runFold` 858 → 707 ops, 2 → 1 fibers; 50 concurrent 200-token streams 1,028 → 752 ops and 15.5 → 8.6 " +
    "suspensions per prediction. A bare `Stream.runFold` over three chunks (`Stream.fromChunks`) is 771 ops and a " +
    "fiber: what is left is the consumer's Stream machinery.",
  "- **7d, import after `effect`**: Node's ES-module loader (resolve, compile, link of ~60 modules of ours and " +
    "@effect/platform's Socket modules) is most of it; module-level work of ours ≈ 30 ms (decoders now compile on " +
    "first use)."
]

interface Target {
  readonly issue: 6 | 15
  readonly description: string
  /** The lmstudio-effect ratio this target is judged on. */
  readonly measure: (results: Results) => number
  readonly minimum: number
  /** What the measurement shows when the target is missed (from the profiles; see bench/README.md). */
  readonly whenMissed?: string | undefined
  /** How the measured value is shown (default: a ratio). */
  readonly format?: (value: number) => string
}

const ours = (key: string, against: "vsOfficial" | "vsRaw") => (results: Results) => results[key]!["lmstudio-effect"][against]
const vsOfficial = (id: string, key: string, minimum: number, issue: 6 | 15, whenMissed?: string): Target => ({
  issue,
  description: `${id} ≥ ${minimum.toFixed(1)}× official`,
  measure: ours(key, "vsOfficial"),
  minimum,
  ...(whenMissed === undefined ? {} : { whenMissed })
})
/** Our throughput as a fraction of the `Effect.async` ceiling (1 = as fast as Effect.all itself allows). */
const vsCeiling = (results: Results) =>
  results.effectAllBatches!["lmstudio-effect"].median / results.effectAllCeiling!["lmstudio-effect"].median

const TARGETS: ReadonlyArray<Target> = [
  vsOfficial("8.", "effectAllBatches", 1.5, 15, MISSED_REASONS.effectAllBatches),
  {
    issue: 15,
    description: "8. or within 1.25× of the Effect.all ceiling (8c), i.e. ≥ 0.80× of it",
    measure: vsCeiling,
    minimum: 1 / 1.25,
    whenMissed: MISSED_REASONS.effectAllCeiling
  },
  vsOfficial("5.", "concurrentLoads", 1.0, 15, MISSED_REASONS.concurrentLoads),
  vsOfficial("10.", "predictionFragments", 1.2, 15, MISSED_REASONS.predictionFragments),
  vsOfficial("13.", "embed", 1.2, 15, MISSED_REASONS.embed),
  vsOfficial("11.", "firstFragment", 1.0, 15, MISSED_REASONS.firstFragment),
  vsOfficial("12.", "concurrentPredictions", 1.0, 15, MISSED_REASONS.concurrentPredictions),
  vsOfficial("1.", "sequentialRpc", 1.0, 15),
  vsOfficial("2.", "concurrentRpc", 1.5, 15),
  vsOfficial("3.", "getOrLoad", 1.0, 15),
  vsOfficial("4.", "loadUnload", 1.0, 15, MISSED_REASONS.loadUnload),
  vsOfficial("6.", "connectFirstCall", 1.0, 15, MISSED_REASONS.connectFirstCall),
  {
    issue: 15,
    description: "7c. heap growth ≤ official (official's growth − ours, MB)",
    measure: (results) => results.heapGrowth!["@lmstudio/sdk"].median - results.heapGrowth!["lmstudio-effect"].median,
    minimum: 0,
    format: (value) => `${value >= 0 ? "+" : ""}${value.toFixed(2)} MB`,
    whenMissed: MISSED_REASONS.heapGrowth
  },
  {
    issue: 15,
    description: "7d. marginal import (after effect) ≤ official's import",
    measure: ours("marginalImport", "vsOfficial"),
    minimum: 1.0,
    whenMissed: MISSED_REASONS.marginalImport
  },
  { issue: 6, description: "1. ≥ 0.7× raw ws", measure: ours("sequentialRpc", "vsRaw"), minimum: 0.7 },
  { issue: 6, description: "2. ≥ 0.7× raw ws", measure: ours("concurrentRpc", "vsRaw"), minimum: 0.7 },
  { issue: 6, description: "3. ≥ 0.7× raw ws", measure: ours("getOrLoad", "vsRaw"), minimum: 0.7 },
  {
    issue: 6,
    description: "7a. cold import (fresh process, nothing imported) no worse than official",
    measure: ours("coldImport", "vsOfficial"),
    minimum: 1.0,
    whenMissed: MISSED_REASONS.coldImport
  },
  { issue: 6, description: "7b. RSS no worse than official", measure: ours("memory", "vsOfficial"), minimum: 1.0, whenMissed: MISSED_REASONS.memory }
]

const packageVersion = (name: string): string => {
  try {
    return (JSON.parse(readFileSync(join(ROOT_DIR, "node_modules", name, "package.json"), "utf8")) as { version: string })
      .version
  } catch {
    return "?"
  }
}

const loadAverage = () => os.loadavg().map((x) => Math.round(x * 100) / 100)
const loadAtStart = loadAverage()

const machine = () => {
  const cpus = os.cpus()
  return {
    /** 1/5/15-minute load averages when the run started and ended: other work on the machine adds noise. */
    loadAverage: { start: loadAtStart, end: loadAverage() },
    node: process.version,
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    cpu: cpus[0]?.model.trim() ?? "unknown",
    cores: cpus.length,
    memoryGB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    date: new Date().toISOString(),
    versions: {
      "lmstudio-effect": (JSON.parse(readFileSync(join(ROOT_DIR, "package.json"), "utf8")) as { version: string }).version,
      effect: packageVersion("effect"),
      "@effect/platform": packageVersion("@effect/platform"),
      "@lmstudio/sdk": packageVersion("@lmstudio/sdk"),
      ws: packageVersion("ws")
    }
  }
}

const markdown = (results: Results, info: ReturnType<typeof machine>, effectEntry: EffectEntry, wallSeconds: number) => {
  const lines: Array<string> = []
  lines.push("# lmstudio-effect benchmark results", "")
  lines.push(
    `Machine: ${info.cpu}, ${info.cores} cores, ${info.memoryGB} GB RAM, ${info.platform}; Node ${info.node}.`,
    `Date: ${info.date}. Versions: ${Object.entries(info.versions).map(([k, v]) => `${k} ${v}`).join(", ")}.`,
    `Run: ${config.rounds} interleaved rounds${config.quick ? " (--quick)" : ""} (memory: ${config.memoryRounds}), ` +
      `${config.sampleMs} ms per sample, ${config.warmupMs} ms warm-up per workload per client; ` +
      `${wallSeconds.toFixed(0)} s wall time. Load average (1/5/15 min) at start ${info.loadAverage.start.join(" / ")}, ` +
      `at end ${info.loadAverage.end.join(" / ")} (on ${info.cores} cores; anything else running shows up as noise).`,
    "",
    "Each cell is the median over rounds (min–max in the next column). \"× official\" and \"× raw ws\" are relative " +
      "performance against that client's median: **> 1 means better** (faster, or less time/memory) whatever the unit.",
    ""
  )
  lines.push("| Workload | Client | Median | Min–max | Unit | × official | × raw ws |")
  lines.push("|---|---|---:|---:|---|---:|---:|")
  for (const workload of WORKLOADS) {
    const row = results[workload.key]!
    for (const name of CLIENTS) {
      const s = row[name]
      const errors = s.errors.length === 0 ? "" : ` (${s.errors.length} failed)`
      const title = workload.key === "memory"
        ? workload.title.replace(MEMORY_OPS.toLocaleString("en-US"), config.memoryOps.toLocaleString("en-US"))
        : workload.title
      lines.push(
        `| ${name === CLIENTS[0] ? title : ""} | ${name}${errors} | ${fmt(s.median)} | ${fmt(s.min)}–${fmt(s.max)} | ` +
          `${workload.unit}${workload.better === "lower" ? " ↓" : " ↑"} | ${fmtRatio(s.vsOfficial)} | ${fmtRatio(s.vsRaw)} |`
      )
    }
  }
  for (const issue of [15, 6] as const) {
    lines.push("", `## Targets (issue ${issue}), lmstudio-effect`, "")
    lines.push("| Target | Measured | Status |", "|---|---:|---|")
    for (const target of TARGETS.filter((t) => t.issue === issue)) {
      const value = target.measure(results)
      const met = value >= target.minimum
      const status = !Number.isFinite(value) ? "not measured" : met ? "met" : `**missed**${target.whenMissed === undefined ? "" : `: ${target.whenMissed}`}`
      lines.push(`| ${target.description} | ${Number.isFinite(value) ? (target.format ?? fmtRatio)(value) : "—"} | ${status} |`)
    }
  }
  lines.push("", "## Where the time goes (profiles: `npx tsx bench/profile.ts <workload>`)", "", ...PROFILE_NOTES)
  const errors = WORKLOADS.flatMap((w) =>
    CLIENTS.flatMap((name) => results[w.key]![name].errors.map((e) => `- ${w.title} · ${name}: ${e}`))
  )
  if (errors.length > 0) lines.push("", "## Failed samples", "", ...new Set(errors))
  lines.push(
    "",
    "## Method",
    "",
    "- Server: `bench/server.ts`, a minimal LM Studio protocol server (raw `ws`, no validation) in its own " +
      "process; every load's packets are written back-to-back in one socket write; a prediction's first fragment goes " +
      "out at once, the rest 64 per write, one write per event-loop turn (zero pacing).",
    "- Clients: one worker process per client (`bench/worker.ts`), so heaps, JITs and GCs are separate; only one " +
      "worker runs at a time; a full GC runs before each sample. lmstudio-effect runs as Effect programs (one " +
      "`runPromise` per sample); `@lmstudio/sdk` with a silent logger and `verbose: false`; raw `ws` sends hand-written " +
      "JSON frames and parses replies with `JSON.parse`, nothing else (the floor).",
    "- 1–2: `listLoaded` (3 instance infos per result); 2 keeps 100 calls in flight (100 sequential lanes).",
    "- 3: sequential `model(key)`/get-or-load; each load is `startLoading`, 100 `loadProgress`, `loadSuccess`, " +
      "`channelClose`; the progress callback counts packets and the run fails unless every packet arrived.",
    "- 4: sequential `loadNewInstance(key)` + `unload` (`resolved`, 10 `progress`, `success`, `channelClose`, then the " +
      "`unloadModel` RPC). 5: 1,000 `loadNewInstance` at once (same packets), median batch wall time.",
    "- 6: new client → first `listLoaded` result (closing the client is not timed); median per sample.",
    "- 8: batches of 100 `listLoaded` started together, one batch after another: `Effect.all(…, { concurrency: " +
      "\"unbounded\" })` / `Promise.all`. 8c: the same `Effect.all` batches over an `Effect.async` that a second, bare " +
      "socket's message event resolves (`JSON.parse` and a map lookup, frames corked per tick like the port's): what " +
      "`Effect.all` itself costs, with no client work. 9: `Effect.forEach(5,000 items, listLoaded, { concurrency: 100 })` / " +
      "a pool of 100 `async` workers over the same items; 9c: its bare-socket ceiling.",
    "- 10: sequential predictions of 2,000 fragments: `Stream.runFold` over `respondStream` / `for await` over " +
      "`respond`; every fragment is counted and the run fails unless all arrived. 11: the same with 200-fragment " +
      "replies, median time from the call to the first fragment. 12: 50 such predictions at once on one client, " +
      "median batch wall time.",
    "- 13: `embed` of 1,000 short texts with default options (lmstudio-effect: 16 in flight, its default; " +
      "`@lmstudio/sdk`: all 1,000 at once, its only way); each reply is a 768-number vector. 14: sequential `countTokens`.",
    `- 7a: \`await import()\` of the package in a fresh \`node\` process (warm OS file cache, cold V8). lmstudio-effect: ${effectEntry.description}.`,
    "- 7d: the same, but lmstudio-effect is imported after `effect` (untimed), what an Effect user pays; the official " +
      "client and `ws` are imported as in 7a.",
    `- 7b, 7c: a fresh process (same import) runs ${config.memoryOps.toLocaleString("en-US")} operations (100 in flight; per 10: 6 ` +
      "`listLoaded`, 1 get-or-load, 1 load+unload, 1 20-fragment `respond`, 1 `countTokens`; 10 progress packets per load) " +
      "after a warm-up of a tenth as many; 7b is RSS at the end, 7c the heap used after two forced GCs at the end minus " +
      `the same before the operations (after the warm-up), in ${config.memoryRounds} of the ${config.rounds} rounds. ` +
      "RSS includes Node itself (~40 MB): compare against raw ws."
  )
  return `${lines.join("\n")}\n`
}

// -------------------------------------------------------------------------------------------------
// Main
// -------------------------------------------------------------------------------------------------

const main = async () => {
  const started = performance.now()
  log(`bench: ${config.rounds} rounds, ${config.sampleMs} ms samples, ${config.warmupMs} ms warm-up`)
  const server = await startServer()
  log(`bench server at ${server.baseUrl} (pid ${server.pid})`)
  const workers = new Map<ClientName, Worker>()
  try {
    const [effectEntry, ...spawned] = await Promise.all([
      prepareEffectEntry(),
      ...selectedClients.map((name) => spawnWorker(name, server.baseUrl))
    ])
    for (const worker of spawned) workers.set(worker.name, worker)
    log(`lmstudio-effect cold import: ${effectEntry.description}`)

    const results: Results = Object.fromEntries(
      WORKLOADS.map((w) => [w.key, Object.fromEntries(CLIENTS.map((name) => [name, emptyStats()]))])
    ) as Results
    const inProcess = WORKLOADS.filter((w) => w.run !== undefined && selectedWorkloads.has(w.id))
    const runs = (workload: Workload) => (name: ClientName) => workload.clients === undefined || workload.clients.includes(name)

    const sample = async (name: ClientName, workload: Workload, durationMs: number, record: boolean) => {
      const worker = workers.get(name)!
      const reply = await runInWorker(worker, workload, durationMs)
      const stats = results[workload.key]![name]
      if (reply.type === "sample") {
        if (record) stats.samples.push(reply.value)
        return
      }
      const message = reply.type === "error" ? reply.message : "unexpected reply"
      log(`  ${workload.title} · ${name}: ${message}`)
      stats.errors.push(message)
      if (message.startsWith("timed out") || worker.child.exitCode !== null) {
        // The worker may be wedged or gone: replace it (the replacement is not warmed up).
        worker.child.kill()
        workers.set(name, await spawnWorker(name, server.baseUrl))
      }
    }

    log("warm-up")
    for (const workload of inProcess) {
      for (const name of selectedClients.filter(runs(workload))) await sample(name, workload, config.warmupMs, false)
    }

    for (let round = 0; round < config.rounds; round++) {
      const order = selectedClients.map((_, i) => selectedClients[(i + round) % selectedClients.length]!)
      log(`round ${round + 1}/${config.rounds}: ${order.join(" → ")}`)
      for (const workload of inProcess) {
        for (const name of order.filter(runs(workload))) await sample(name, workload, config.sampleMs, true)
      }
      const fresh = async (workload: "coldImport" | "marginalImport" | "memory", name: ClientName) => {
        const stats = results[workload]![name]
        try {
          const result = await runFresh(
            name,
            effectEntry,
            server.baseUrl,
            workload === "memory" ? config.memoryOps : 0,
            workload === "marginalImport"
          )
          const value = workload === "memory" ? result.rssMB : result.importMs
          if (value === undefined) throw new Error(`no ${workload} value in ${JSON.stringify(result)}`)
          stats.samples.push(value)
          if (workload === "memory") {
            if (result.heapGrowthMB !== undefined) results.heapGrowth![name].samples.push(result.heapGrowthMB)
            log(
              `  memory · ${name}: RSS ${value.toFixed(1)} MB, heap ${result.heapBeforeMB?.toFixed(2)} → ` +
                `${result.heapUsedMB?.toFixed(2)} MB after ${((result.opsMs ?? 0) / 1000).toFixed(1)} s of operations`
            )
          }
        } catch (error) {
          const message = error instanceof Error ? error.message.split("\n")[0] ?? error.message : String(error)
          log(`  fresh process (${workload}) · ${name}: ${message}`)
          stats.errors.push(message)
        }
      }
      if (selectedWorkloads.has(7)) for (const name of order) await fresh("coldImport", name)
      if (selectedWorkloads.has(18)) for (const name of order) await fresh("marginalImport", name)
      if ((selectedWorkloads.has(8) || selectedWorkloads.has(17)) && memoryRoundSet.has(round)) for (const name of order) await fresh("memory", name)
    }

    finish(results)
    const info = machine()
    const wallSeconds = (performance.now() - started) / 1000
    const report = markdown(results, info, effectEntry, wallSeconds)
    if (!partial) {
      writeFileSync(join(BENCH_DIR, "results.md"), report)
      writeFileSync(
        join(BENCH_DIR, "results.json"),
        `${
          JSON.stringify(
            {
              machine: info,
              config: { ...config, effectEntry: relative(ROOT_DIR, effectEntry.path), effectEntryDescription: effectEntry.description },
              wallSeconds,
              workloads: WORKLOADS.map((w) => ({
                id: w.id,
                key: w.key,
                title: w.title,
                unit: w.unit,
                better: w.better,
                results: results[w.key]
              })),
              targets: TARGETS.map((t) => {
                const measured = t.measure(results)
                return { issue: t.issue, description: t.description, minimum: t.minimum, measured, met: measured >= t.minimum }
              })
            },
            (_, value: unknown) => (typeof value === "number" && !Number.isFinite(value) ? null : value),
            2
          )
        }\n`
      )
    }
    process.stdout.write(`\n${report}`)
    log(partial ? `partial or quick run (${wallSeconds.toFixed(0)} s): results.md/json not written (--write to force)` : `wrote bench/results.md and bench/results.json (${wallSeconds.toFixed(0)} s)`)
  } finally {
    await Promise.all([...workers.values()].map(closeWorker))
    await server.stop()
  }
}

main().catch((error: unknown) => {
  log(error instanceof Error ? error.stack ?? error.message : String(error))
  process.exit(1)
})
