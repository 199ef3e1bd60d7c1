/**
 * Profiles one workload of one client:
 *
 *   npx tsx bench/profile.ts <workload: 1-6, 8, 8c, 9, 9c, 10-14> [seconds=5] [client=lmstudio-effect] [top=40]
 *
 * Transpiles src/ and bench/ to plain JS in bench/.build/prof/ (tsx's output puts each module on
 * one line, which makes profiles useless), runs the workload in a child `node --cpu-prof` for the
 * given time after a warm-up, and prints the top self-time functions and files. The profile is in
 * bench/.prof/. The bench server runs in its own process, so it is not in the profile.
 *
 * Workloads: by the number their title starts with (see bench/workloads.ts), e.g. 8 for the
 * Effect.all batches, 10 for the streamed 2,000-token prediction.
 */
import { spawnSync } from "node:child_process"
import { existsSync, mkdirSync } from "node:fs"
import { join } from "node:path"
import { type ClientName, makeClient } from "./clients/index.js"
import { BENCH_DIR, ROOT_DIR, startServer } from "./serverProcess.js"
import { workloadByTag } from "./workloads.js"

const args = process.argv.slice(2)
const child = args[0] === "--child"
const [workloadArg, secondsArg, clientArg, topArg] = child ? args.slice(1) : args
const workloadTag = workloadArg ?? "1"
const seconds = Number(secondsArg ?? 5)
const clientName = (clientArg ?? "lmstudio-effect") as ClientName

const runChild = async () => {
  const workload = workloadByTag(workloadTag)
  if (workload?.run === undefined) throw new Error(`no in-process workload ${workloadTag}`)
  const server = await startServer()
  try {
    const client = await makeClient(clientName, server.baseUrl)
    await workload.run(client, performance.now() + 1000) // warm-up
    const started = performance.now()
    const samples: Array<number> = []
    while (performance.now() - started < seconds * 1000) {
      samples.push((await workload.run(client, performance.now() + 500)).value)
    }
    console.log(`${clientName} · ${workload.title}: ${samples.map((s) => s.toFixed(1)).join(", ")} ${workload.unit}`)
    await client.close()
  } finally {
    await server.stop()
  }
}

const runParent = async () => {
  const { transpile } = await import("./build.js")
  const { analyze } = await import("./analyzeProfile.js")
  const out = join(BENCH_DIR, ".build", "prof")
  await transpile([join(ROOT_DIR, "src"), BENCH_DIR], ROOT_DIR, out)
  const profDir = join(BENCH_DIR, ".prof")
  mkdirSync(profDir, { recursive: true })
  const name = `w${workloadTag}-${clientName.replace(/[^a-z0-9]+/gi, "_")}-${Date.now()}.cpuprofile`
  const result = spawnSync(
    process.execPath,
    [
      "--cpu-prof",
      `--cpu-prof-dir=${profDir}`,
      `--cpu-prof-name=${name}`,
      join(out, "bench", "profile.js"),
      "--child",
      workloadTag,
      String(seconds),
      clientName
    ],
    { cwd: ROOT_DIR, stdio: "inherit" }
  )
  const file = join(profDir, name)
  if (result.status !== 0 || !existsSync(file)) throw new Error(`profiled run failed (status ${result.status})`)
  console.log(`\n${file}`)
  analyze(file, Number(topArg ?? 40))
}

await (child ? runChild() : runParent())
