/**
 * `runMain`: run a program as a Node process's main fiber, so that Ctrl-C (SIGINT) and SIGTERM
 * interrupt it and every finalizer runs — scoped models are unloaded, sockets closed — before the
 * process exits.
 *
 * `Effect.runPromise` does not do this: on SIGINT, Node exits at once and no finalizer runs, so a
 * `modelScoped` model would stay loaded in LM Studio. `NodeRuntime.runMain` from
 * `@effect/platform-node` does the same as this helper; use it if your app already depends on it.
 * This one is built on `@effect/platform`'s `Runtime.makeRunMain` (already a peer dependency), so
 * that a small app needs nothing more.
 *
 * @since 0.1.0
 */
import * as Runtime from "@effect/platform/Runtime"

/**
 * Runs `effect` as the main program: errors are logged (pretty) and set exit code 1; SIGINT and
 * SIGTERM interrupt the program, its finalizers run, and the process exits (code 0 when the
 * interruption was all that happened, as with `NodeRuntime.runMain`).
 *
 * ```ts
 * program.pipe(Effect.scoped, Effect.provide(LMStudioClient.layerConfig()), runMain)
 * ```
 *
 * @since 0.1.0
 * @category runtime
 */
export const runMain: Runtime.RunMain = Runtime.makeRunMain(({ fiber, teardown }) => {
  // The fiber alone does not keep Node alive while it waits; this timer does, until it ends.
  const keepAlive = setInterval(() => {}, 2 ** 31 - 1)
  let signalled = false
  const onSignal = () => {
    signalled = true
    removeListeners()
    fiber.unsafeInterruptAsFork(fiber.id())
  }
  const removeListeners = () => {
    process.removeListener("SIGINT", onSignal)
    process.removeListener("SIGTERM", onSignal)
  }
  process.on("SIGINT", onSignal)
  process.on("SIGTERM", onSignal)
  fiber.addObserver((exit) => {
    removeListeners()
    clearInterval(keepAlive)
    teardown(exit, (code) => {
      // Exit explicitly only when needed: a signal was caught (Node would otherwise keep the
      // default handler removed) or the program failed.
      if (signalled || code !== 0) process.exit(code)
    })
  })
})
