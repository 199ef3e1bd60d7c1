/**
 * Get-or-load with single flight: concurrent `model(key)` calls for one key share one load, and
 * the load belongs to all of them.
 *
 * - Each waiter runs its own progress callback in its own fiber, from its own bounded feed: a
 *   slow or failing callback delays or fails only that waiter.
 * - A waiter that leaves (interrupted, or its callback failed) only stops waiting; the load is
 *   cancelled when its last waiter leaves, and then only if none of them received the instance.
 * - A load that has settled is never joined: later callers start a new get-or-load (which finds
 *   the loaded instance).
 *
 * The load is made with the options of the caller that started it.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type { LMStudioError } from "../../LMStudioError.js"
import type * as LoadEvent from "../../LoadEvent.js"
import type { Port } from "../port.js"
import type { LoadRun, LoadRuns } from "./loadChannel.js"
import type { LoadRequest } from "./loadRequest.js"

interface SharedLoad<Handle, Info> {
  readonly run: LoadRun<Handle, Info>
  /** Callers waiting for it now. */
  waiters: number
  /** Some waiter received the instance: it must not be undone. */
  kept: boolean
}

export interface SingleFlight<Handle> {
  /**
   * Joins the get-or-load of `request.modelKey` in flight, or starts one. `onKept` runs in the
   * step that delivers the handle to this caller.
   */
  readonly getOrLoad: (
    request: LoadRequest,
    onProgress: ((progress: number) => Effect.Effect<void>) | undefined,
    onKept?: (loaded: LoadEvent.Loaded<Handle>) => void
  ) => Effect.Effect<LoadEvent.Loaded<Handle>, LMStudioError>
}

export const make = <Handle, Info>(port: Port, runs: LoadRuns<Handle, Info>): SingleFlight<Handle> => {
  const inFlight = new Map<string, SharedLoad<Handle, Info>>()

  const joinable = (key: string) => {
    const shared = inFlight.get(key)
    return shared !== undefined && !shared.run.settled ? shared : undefined
  }

  /** Starts a shared load (connect first), unless one appeared while connecting. */
  const startShared = (request: LoadRequest) =>
    Effect.suspend(() => {
      const appeared = joinable(request.modelKey)
      if (appeared !== undefined) return Effect.succeed(appeared)
      return Effect.map(runs.start(request), (run) => {
        const shared: SharedLoad<Handle, Info> = { run, waiters: 0, kept: false }
        inFlight.set(request.modelKey, shared)
        return shared
      })
    })

  const leave = (
    key: string,
    shared: SharedLoad<Handle, Info>,
    exit: Exit.Exit<LoadEvent.Loaded<Handle>, LMStudioError>,
    onKept: ((loaded: LoadEvent.Loaded<Handle>) => void) | undefined
  ) =>
    Effect.suspend(() => {
      shared.waiters--
      if (Exit.isSuccess(exit)) {
        shared.kept = true
        onKept?.(exit.value)
      }
      if (shared.waiters > 0) return Effect.void
      if (inFlight.get(key) === shared) inFlight.delete(key)
      return runs.close(shared.run, shared.kept)
    })

  const getOrLoad: SingleFlight<Handle>["getOrLoad"] = (request, onProgress, onKept) =>
    Effect.uninterruptibleMask((restore) => {
      const key = request.modelKey
      const existing = joinable(key)
      const acquire = existing !== undefined
        ? Effect.succeed(existing)
        : Effect.zipRight(restore(port.connect), startShared(request))
      // Joining and the guard that leaves are one uninterruptible step: a waiter always leaves.
      return Effect.flatMap(acquire, (shared) => {
        shared.waiters++
        return restore(runs.awaitLoaded(shared.run, onProgress)).pipe(
          Effect.onExit((exit) => leave(key, shared, exit, onKept))
        )
      })
    })

  return { getOrLoad }
}
