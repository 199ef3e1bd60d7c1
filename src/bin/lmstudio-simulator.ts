#!/usr/bin/env node
/**
 * `lmstudio-simulator`: runs the LM Studio simulator as a standalone server so that any LM Studio
 * client, in any language, can be pointed at it.
 *
 *     lmstudio-simulator [--port 1234] [--host 127.0.0.1] [--catalog models.json]
 *                        [--api-token sk-lm-xxxxxxxx:yyyyyyyyyyyyyyyyyyyy] [--load-ms 200]
 *
 * The first line on stdout is the `ws://` URL it serves. SIGINT/SIGTERM close it and exit 0.
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { parseCli, USAGE } from "../testing/internal/cli.js"
import * as LMStudioSimulator from "../testing/LMStudioSimulator.js"

const program = (argv: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const options = yield* parseCli(argv)
    if (options === "help") {
      yield* Effect.sync(() => process.stdout.write(USAGE))
      return
    }
    const sim = yield* LMStudioSimulator.make(options)
    yield* Effect.sync(() => {
      process.stdout.write(`${sim.url}\n`)
      process.stderr.write(
        `lmstudio-simulator: serving ${sim.catalog.length} models at ${sim.url}` +
          `${options.apiToken !== undefined ? " (API token required)" : ""}; Ctrl-C to stop\n`
      )
    })
    return yield* Effect.never
  }).pipe(Effect.scoped)

/**
 * Runs the program on a root fiber; SIGINT/SIGTERM interrupt it (which closes the simulator's
 * scope), then the process exits 0. Failures print a message and exit non-zero.
 */
const main = () => {
  const fiber = Effect.runFork(program(process.argv.slice(2)))
  const onSignal = () => {
    process.off("SIGINT", onSignal)
    process.off("SIGTERM", onSignal)
    fiber.unsafeInterruptAsFork(fiber.id())
  }
  process.on("SIGINT", onSignal)
  process.on("SIGTERM", onSignal)
  fiber.addObserver((exit) => {
    process.off("SIGINT", onSignal)
    process.off("SIGTERM", onSignal)
    // Everything is closed by now, so the process exits on its own; should a handle linger,
    // this (unref'd) timer still ends it.
    setTimeout(() => process.exit(), 2000).unref()
    if (Exit.isSuccess(exit) || Cause.isInterruptedOnly(exit.cause)) {
      process.exitCode = 0
      return
    }
    const error = Cause.failureOption(exit.cause)
    if (error._tag === "Some") {
      process.stderr.write(`lmstudio-simulator: ${error.value.message}\n`)
      process.exitCode = error.value.exitCode
    } else {
      process.stderr.write(`lmstudio-simulator: ${Cause.pretty(exit.cause)}\n`)
      process.exitCode = 1
    }
  })
}

main()
