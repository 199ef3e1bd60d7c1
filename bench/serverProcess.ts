/**
 * Starts `bench/server.ts` in its own process and resolves with its base URL. The server exits when
 * `stop()` is called or this process goes away (it watches its stdin).
 */
import { spawn } from "node:child_process"
import { existsSync } from "node:fs"
import { dirname, join } from "node:path"
import { createInterface } from "node:readline"
import { fileURLToPath } from "node:url"

export const BENCH_DIR = dirname(fileURLToPath(import.meta.url))
/** The repository root (also from a transpiled copy in bench/.build/prof/bench/). */
export const ROOT_DIR = BENCH_DIR.replace(/\/bench(\/\.build\/prof\/bench)?$/, "")

export interface ServerProcess {
  readonly baseUrl: string
  readonly pid: number | undefined
  readonly stop: () => Promise<void>
}

export const startServer = (args: ReadonlyArray<string> = []): Promise<ServerProcess> =>
  new Promise((resolve, reject) => {
    // From a transpiled copy of bench/ (profiling), run the transpiled server without tsx.
    const ts = join(BENCH_DIR, "server.ts")
    const command = existsSync(ts) ? ["--import", "tsx", ts] : [join(BENCH_DIR, "server.js")]
    const child = spawn(process.execPath, [...command, ...args], {
      cwd: ROOT_DIR,
      stdio: ["pipe", "pipe", "inherit"]
    })
    const exited = new Promise<void>((done) => child.once("exit", () => done()))
    child.once("error", reject)
    child.once("exit", (code) => reject(new Error(`bench server exited early (code ${code})`)))
    const lines = createInterface({ input: child.stdout })
    lines.once("line", (line) => {
      const { port } = JSON.parse(line) as { port: number }
      resolve({
        baseUrl: `ws://127.0.0.1:${port}`,
        pid: child.pid,
        stop: () => {
          child.stdin.end()
          return exited
        }
      })
    })
  })
