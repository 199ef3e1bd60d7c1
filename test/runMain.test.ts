/**
 * Ctrl-C: a Node process holding a scoped model, run with `runMain`, unloads it when it gets
 * SIGINT or SIGTERM; with `Effect.runPromise`, Node exits without running finalizers and the model
 * stays loaded. Real child processes against a real simulator.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { LMStudioSimulator } from "../src/testing/index.js"
import { loadedIds } from "./support/harness.js"

const child = fileURLToPath(new URL("./support/holdScopedModel.ts", import.meta.url))

/** Starts the child, waits until it holds the model, sends `signal`, and returns its exit code. */
const holdThenSignal = (url: string, mode: "runMain" | "runPromise", signal: NodeJS.Signals) =>
  Effect.async<{ readonly code: number | null; readonly output: string }, Error>((resume) => {
    const proc = spawn(process.execPath, ["--import", "tsx", child, mode], {
      env: { ...process.env, LMSTUDIO_BASE_URL: url },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let output = ""
    const onData = (chunk: Buffer) => {
      output += chunk.toString()
      if (output.includes("holding ")) proc.kill(signal)
    }
    proc.stdout.on("data", onData)
    proc.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()))
    proc.on("error", (error) => resume(Effect.fail(error)))
    proc.on("exit", (code) => resume(Effect.succeed({ code, output })))
    return Effect.sync(() => proc.kill("SIGKILL"))
  })

const run = (mode: "runMain" | "runPromise", signal: NodeJS.Signals) =>
  Effect.gen(function*() {
    const sim = yield* LMStudioSimulator.make({ loadMs: 0 })
    const { code, output } = yield* holdThenSignal(sim.url, mode, signal)
    return { code, output, loaded: yield* loadedIds(sim) }
  })

describe("Ctrl-C", () => {
  // One test with three child processes side by side: each takes seconds to start on a busy machine.
  it.scopedLive("runMain unloads the scoped model on SIGINT and SIGTERM; Effect.runPromise leaves it loaded", () =>
    Effect.gen(function*() {
      const [sigint, sigterm, runPromise] = yield* Effect.all([
        run("runMain", "SIGINT"),
        run("runMain", "SIGTERM"),
        run("runPromise", "SIGINT")
      ], { concurrency: "unbounded" })
      for (const result of [sigint, sigterm]) {
        assert.include(result.output, "holding llama-3.2-1b-instruct")
        assert.strictEqual(result.code, 0, result.output)
        assert.deepStrictEqual(result.loaded, [], "nothing left loaded")
      }
      // Node's default SIGINT handling exits at once: no finalizer runs.
      assert.include(runPromise.output, "holding llama-3.2-1b-instruct")
      assert.deepStrictEqual(runPromise.loaded, ["llama-3.2-1b-instruct"])
    }), 180_000) // generous: three cold tsx processes on a busy 2-core machine can take a minute
})
