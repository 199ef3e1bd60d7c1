/**
 * The `lmstudio-simulator` command, run as a real process (`tsx src/bin/lmstudio-simulator.ts`).
 */
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"
import { LMStudioClient } from "@lmstudio/sdk"
import * as Effect from "effect/Effect"
import { defaultCatalog } from "lmstudio-effect/testing"
import { formatTraffic, parseCli, printTraffic } from "../src/testing/internal/cli.js"
import { LMStudioSimulator } from "../src/testing/index.js"

const root = fileURLToPath(new URL("..", import.meta.url))
const bin = join(root, "src", "bin", "lmstudio-simulator.ts")
const silent = { info() {}, warn() {}, error() {}, debug() {} }

interface Running {
  readonly child: ChildProcess
  readonly firstLine: Promise<string>
  readonly exited: Promise<{ code: number | null; stdout: string; stderr: string }>
}

const start = (args: ReadonlyArray<string>): Running => {
  // One node process with tsx's loader (what `npx tsx` does, minus the wrapper process).
  const child = spawn(process.execPath, ["--import", "tsx", bin, ...args], { cwd: root, stdio: ["ignore", "pipe", "pipe"] })
  let stdout = ""
  let stderr = ""
  const firstLine = new Promise<string>((resolve, reject) => {
    child.stdout?.on("data", (chunk: Buffer) => {
      stdout += chunk.toString("utf8")
      const newline = stdout.indexOf("\n")
      if (newline >= 0) resolve(stdout.slice(0, newline))
    })
    child.once("exit", () => reject(new Error(`exited before printing a URL: ${stderr}`)))
  })
  firstLine.catch(() => {})
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8")
  })
  const exited = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.once("close", (code) => resolve({ code, stdout, stderr }))
  )
  return { child, firstLine, exited }
}

/**
 * Starts the CLI for the test's scope; the process is killed if the test leaves it running.
 * Timeouts are generous (60 s): starting a process under tsx on a busy machine can take 15 s.
 */
const cli = (args: ReadonlyArray<string>) =>
  Effect.acquireRelease(Effect.sync(() => start(args)), ({ child }) =>
    Effect.sync(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
    }))

describe("lmstudio-simulator CLI", () => {
  it.scopedLive("prints its ws:// URL first, serves a custom catalog behind an API token, exits 0 on SIGTERM", () =>
    Effect.gen(function*() {
      const dir = mkdtempSync(join(tmpdir(), "lmstudio-sim-"))
      const catalog = join(dir, "catalog.json")
      writeFileSync(
        catalog,
        JSON.stringify([{
          type: "llm",
          modelKey: "tiny-llm",
          format: "gguf",
          displayName: "Tiny LLM",
          path: "acme/Tiny-LLM-GGUF/tiny-llm-q4_k_m.gguf",
          sizeBytes: 1000,
          vision: false,
          trainedForToolUse: false,
          maxContextLength: 2048
        }])
      )
      const running = yield* cli(["--port", "0", "--load-ms", "0", "--catalog", catalog, "--api-token", "sk-lm-AbCd1234:0123456789abcdefGHIJ"])
      const url = yield* Effect.promise(() => running.firstLine)
      assert.match(url, /^ws:\/\/127\.0\.0\.1:\d+$/)
      const greeting = yield* Effect.promise(() => fetch(`${url.replace("ws:", "http:")}/lmstudio-greeting`).then((r) => r.json()))
      assert.deepStrictEqual(greeting, { lmstudio: true })
      const client = new LMStudioClient({
        baseUrl: url,
        logger: silent,
        clientIdentifier: "AbCd1234",
        clientPasskey: "0123456789abcdefGHIJ"
      })
      const models = yield* Effect.promise(() => client.system.listDownloadedModels())
      assert.deepStrictEqual(models.map((m) => m.modelKey), ["tiny-llm"])
      const loaded = yield* Effect.promise(() => client.llm.load("tiny-llm"))
      assert.strictEqual(loaded.identifier, "tiny-llm")
      yield* Effect.promise(() => client[Symbol.asyncDispose]())
      running.child.kill("SIGTERM")
      const { code } = yield* Effect.promise(() => running.exited)
      assert.strictEqual(code, 0)
    }), { timeout: 60_000 })

  it.effect("parses options and rejects bad input with clear messages and exit codes", () =>
    Effect.gen(function*() {
      // No traffic is kept in memory by default: a long-running server must not grow.
      assert.deepStrictEqual(yield* parseCli([]), { port: 1234, loadMs: 200, tokenMs: 5, trafficLogSize: 0 })
      assert.strictEqual(yield* parseCli(["--help"]), "help")
      assert.strictEqual(yield* parseCli(["-v"]), "version")
      assert.strictEqual(yield* parseCli(["--print-catalog"]), "print-catalog")
      assert.deepStrictEqual(
        yield* parseCli(["--port", "0", "--host", "0.0.0.0", "--load-ms", "5", "--token-ms", "0", "--api-token", "sk-lm-AbCd1234:0123456789abcdefGHIJ"]),
        { port: 0, loadMs: 5, tokenMs: 0, trafficLogSize: 0, host: "0.0.0.0", apiToken: "sk-lm-AbCd1234:0123456789abcdefGHIJ" }
      )
      const logging = yield* parseCli(["--log-traffic"])
      assert.strictEqual(logging !== "help" && typeof logging === "object" ? logging.onTraffic : undefined, printTraffic)
      const failure = (argv: ReadonlyArray<string>) => Effect.flip(parseCli(argv))
      const badToken = yield* failure(["--api-token", "sk-lm-short:key"])
      assert.strictEqual(badToken.exitCode, 2)
      assert.include(badToken.message, "--api-token must look like")
      assert.include((yield* failure(["--port", "70000"])).message, "--port must be an integer")
      assert.include((yield* failure(["--token-ms", "fast"])).message, "--token-ms must be an integer")
      assert.include((yield* failure(["--bogus"])).message, "Unknown option '--bogus'")

      const dir = mkdtempSync(join(tmpdir(), "lmstudio-sim-"))
      const bad = join(dir, "bad.json")
      writeFileSync(bad, JSON.stringify([{ type: "llm", modelKey: "x" }, { type: "image" }]))
      const invalid = yield* failure(["--catalog", bad])
      assert.strictEqual(invalid.exitCode, 1)
      assert.include(invalid.message, "is not a valid model catalog")
      assert.include(invalid.message, "[0].displayName: is missing")
      assert.include(invalid.message, `[1].type: must be "llm" or "embedding"`)
      const notJson = join(dir, "not.json")
      writeFileSync(notJson, "{")
      assert.include((yield* failure(["--catalog", notJson])).message, "is not valid JSON")
      assert.include((yield* failure(["--catalog", join(dir, "missing.json")])).message, "Cannot read catalog file")
      const good = join(dir, "good.json")
      writeFileSync(good, JSON.stringify(defaultCatalog))
      const parsed = yield* parseCli(["--catalog", good])
      assert.deepStrictEqual(typeof parsed === "object" ? parsed.catalog : undefined, defaultCatalog)
    }))

  it.scopedLive("--version prints the package version; --print-catalog prints a template --catalog accepts", () =>
    Effect.gen(function*() {
      const version = yield* cli(["--version"])
      const { code, stdout } = yield* Effect.promise(() => version.exited)
      assert.strictEqual(code, 0)
      assert.strictEqual(stdout, `${JSON.parse(readFileSync(join(root, "package.json"), "utf8")).version}\n`)
      const printed = yield* cli(["--print-catalog"])
      const catalog = yield* Effect.promise(() => printed.exited)
      assert.strictEqual(catalog.code, 0)
      const file = join(mkdtempSync(join(tmpdir(), "lmstudio-sim-")), "catalog.json")
      writeFileSync(file, catalog.stdout)
      const parsed = yield* parseCli(["--catalog", file])
      assert.deepStrictEqual(typeof parsed === "object" ? parsed.catalog : undefined, defaultCatalog)
    }), { timeout: 60_000 })

  it.scopedLive("a busy port is one line on stderr and exit code 1, not a stack trace", () =>
    Effect.gen(function*() {
      const taken = yield* LMStudioSimulator.make()
      const running = yield* cli(["--port", String(taken.port)])
      const { code, stderr } = yield* Effect.promise(() => running.exited)
      assert.strictEqual(code, 1)
      assert.strictEqual(
        stderr,
        `lmstudio-simulator: Cannot listen on 127.0.0.1:${taken.port}: the port is already in use ` +
          "(by LM Studio, or another simulator?). Stop it or choose another port (0 picks a free one).\n"
      )
    }), { timeout: 60_000 })

  it.scopedLive("the first SIGINT stops it with exit code 0, clients connected; --log-traffic prints frames, redacted", () =>
    Effect.gen(function*() {
      const running = yield* cli(["--port", "0", "--load-ms", "0", "--log-traffic"])
      const url = yield* Effect.promise(() => running.firstLine)
      const client = new LMStudioClient({ baseUrl: url, logger: silent })
      yield* Effect.promise(() => client.llm.load("llama-3.2-1b-instruct"))
      running.child.kill("SIGINT")
      const { code, stderr } = yield* Effect.promise(() => running.exited)
      yield* Effect.promise(() => client[Symbol.asyncDispose]())
      assert.strictEqual(code, 0)
      assert.match(stderr, /^#\d+ \/llm -> \{"authVersion":1,"clientIdentifier":"[^"]+","clientPasskey":"<redacted>"\}$/m)
      assert.match(stderr, /^#\d+ \/llm <- \{"type":"channelSend","channelId":\d+,"message":\{"type":"success"/m)
    }), { timeout: 60_000 })

  it("formatTraffic cuts long frames", () => {
    const line = formatTraffic({ direction: "out", namespace: "embedding", connection: 3, frame: { embedding: Array(1000).fill(0.123456) } })
    assert.match(line, /^#3 \/embedding <- \{"embedding":\[0\.123456,/)
    assert.match(line, /… \(\d+ chars\)$/)
    assert.isBelow(line.length, 2_100)
  })
})
