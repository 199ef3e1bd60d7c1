/**
 * Inactivity deadlines of loads and predictions, kept by one sweeper fiber per namespace on
 * Effect's `Clock` (so `TestClock` drives them). A load or prediction records when its last packet
 * arrived; the sweeper sleeps until the earliest deadline, times out the ones that stayed silent
 * and sleeps again. They cost no timer of their own; with nothing in flight the sweeper holds no
 * timer at all.
 *
 * @internal
 */
import type * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"

/** One watched load or prediction. */
export interface Watched {
  /** When the load last showed activity (the clock's milliseconds). */
  lastActivity: number
  readonly limitMillis: number
  /** Called once, synchronously, when the load stayed silent for `limitMillis`. */
  readonly onTimeout: () => void
}

export interface Inactivity {
  readonly clock: Clock.Clock
  /** Starts watching `load` (from now); a no-op for an infinite limit. */
  readonly watch: (load: Watched) => void
  readonly unwatch: (load: Watched) => void
}

/** Starts the sweeper in `scope` (it ends when the scope closes). */
export const make = (scope: Scope.Scope): Effect.Effect<Inactivity> =>
  Effect.gen(function*() {
    const clock = yield* Effect.clock
    const watched = new Set<Watched>()
    /** When the sweeper will look next (`Infinity`: it is parked). */
    let nextCheck = Infinity
    /** Wakes the sweeper early (set while it waits). */
    let wake: (() => void) | undefined
    /**
     * An earlier deadline came while the sweeper was between its look and its wait (its race's
     * fibers start on the scheduler, later): the wait must not start.
     */
    let wakeRequested = false

    const waitForWake = Effect.async<void>((resume) => {
      if (wakeRequested) {
        wakeRequested = false
        return resume(Effect.void)
      }
      wake = () => {
        wake = undefined
        resume(Effect.void)
      }
      return Effect.sync(() => {
        wake = undefined
      })
    })

    const sweep = Effect.gen(function*() {
      while (true) {
        wakeRequested = false
        const now = clock.unsafeCurrentTimeMillis()
        let next = Infinity
        for (const load of watched) {
          const deadline = load.lastActivity + load.limitMillis
          if (deadline <= now) {
            watched.delete(load)
            load.onTimeout()
          } else if (deadline < next) next = deadline
        }
        nextCheck = next
        yield* next === Infinity ? waitForWake : Effect.raceFirst(Effect.sleep(next - now), waitForWake)
        wake = undefined
      }
    })
    yield* Effect.forkIn(sweep, scope)

    return {
      clock,
      watch: (load) => {
        if (!Number.isFinite(load.limitMillis)) return
        load.lastActivity = clock.unsafeCurrentTimeMillis()
        watched.add(load)
        if (load.lastActivity + load.limitMillis < nextCheck) {
          nextCheck = load.lastActivity + load.limitMillis
          if (wake === undefined) wakeRequested = true
          else wake()
        }
      },
      unwatch: (load) => {
        watched.delete(load)
      }
    }
  })
