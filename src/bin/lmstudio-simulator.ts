#!/usr/bin/env node
/**
 * `lmstudio-simulator`: runs the LM Studio simulator as a standalone server so that any LM Studio
 * client, in any language, can be pointed at it.
 *
 *     lmstudio-simulator [--port 1234] [--host 127.0.0.1] [--catalog models.json]
 *                        [--api-token sk-lm-xxxxxxxx:yyyyyyyyyyyyyyyyyyyy] [--load-ms 200]
 *                        [--log-traffic] [--print-catalog] [--version] [--help]
 *
 * The first line on stdout is the `ws://` URL it serves. The first SIGINT/SIGTERM closes it and
 * exits 0; a failure to start (a busy port, say) is one line on stderr and exit code 1.
 *
 * @since 0.1.0
 */
import { createRequire } from "node:module"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { defaultCatalog } from "../testing/catalog.js"
import { parseCli, USAGE } from "../testing/internal/cli.js"
import * as LMStudioSimulator from "../testing/LMStudioSimulator.js"

/** The package version (`src/bin` and `dist/bin` both sit two levels below package.json). */
const packageVersion = (): string => {
  const json: unknown = createRequire(import.meta.url)("../../package.json")
  return typeof json === "object" && json !== null && "version" in json && typeof json.version === "string"
    ? json.version
    : "unknown"
}

const print = (text: string) => Effect.sync(() => process.stdout.write(text))

const program = (argv: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const command = yield* parseCli(argv)
    if (command === "help") return yield* print(USAGE)
    if (command === "version") return yield* print(`${packageVersion()}\n`)
    if (command === "print-catalog") return yield* print(`${JSON.stringify(defaultCatalog, null, 2)}\n`)
    const sim = yield* LMStudioSimulator.make(command)
    yield* Effect.sync(() => {
      process.stdout.write(`${sim.url}\n`)
      process.stderr.write(
        `lmstudio-simulator: serving ${sim.catalog.length} models at ${sim.url}` +
          `${command.apiToken !== undefined ? " (API token required)" : ""}; Ctrl-C to stop\n`
      )
    })
    return yield* Effect.never
  }).pipe(Effect.scoped)

/** How long closing may take after a signal before the process exits anyway. */
const SHUTDOWN_GRACE_MS = 2_000

/**
 * Runs the program on a root fiber. The first SIGINT/SIGTERM interrupts it (which closes the
 * simulator's scope) and arms a timer that ends the process even if closing hangs; a second
 * signal exits at once. Exit code 0 after a signal; a failure prints one line and exits non-zero.
 */
const main = () => {
  const fiber = Effect.runFork(program(process.argv.slice(2)))
  let signalled = false
  const onSignal = () => {
    if (signalled) return process.exit(130) // a second Ctrl-C: the user means it
    signalled = true
    setTimeout(() => process.exit(0), SHUTDOWN_GRACE_MS).unref()
    fiber.unsafeInterruptAsFork(fiber.id())
  }
  process.on("SIGINT", onSignal)
  process.on("SIGTERM", onSignal)
  fiber.addObserver((exit) => {
    process.off("SIGINT", onSignal)
    process.off("SIGTERM", onSignal)
    // Everything is closed by now, so the process exits on its own; should a handle linger,
    // this (unref'd) timer still ends it.
    setTimeout(() => process.exit(), SHUTDOWN_GRACE_MS).unref()
    if (Exit.isSuccess(exit) || Cause.isInterruptedOnly(exit.cause)) {
      process.exitCode = 0
      return
    }
    const error = Cause.failureOption(exit.cause)
    if (error._tag === "Some") {
      process.stderr.write(`lmstudio-simulator: ${error.value.message}\n`)
      process.exitCode = "exitCode" in error.value ? error.value.exitCode : 1
    } else {
      process.stderr.write(`lmstudio-simulator: ${Cause.pretty(exit.cause)}\n`)
      process.exitCode = 1
    }
  })
}

main()
