/**
 * What a load tells one of its consumers (a waiter's progress callback, a load-event stream): a
 * queue of progress fractions and events that never blocks the load and never grows without
 * bound. Progress is idempotent, so when a slow consumer lets more than `capacity` items pile up,
 * the newest fraction replaces the last queued one (latest wins); a consumer that keeps up sees
 * every fraction.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type { LMStudioError } from "../../LMStudioError.js"

/** How many items a feed holds before progress fractions coalesce. */
export const FEED_CAPACITY = 1024

const NOTHING: ReadonlyArray<never> = []

export class Feed<Event extends object> {
  private items: Array<number | Event> = []
  private ended: Exit.Exit<void, LMStudioError> | undefined = undefined
  private waiting: (() => void) | undefined = undefined

  constructor(readonly capacity: number = FEED_CAPACITY) {}

  /** Queues a progress fraction; past `capacity`, it replaces the last queued fraction. */
  progress(value: number): void {
    const items = this.items
    const last = items.length - 1
    if (last + 1 >= this.capacity && typeof items[last] === "number") items[last] = value
    else items.push(value)
    this.wake()
  }

  /** Queues an event (the protocol sends only a few per load). */
  event(event: Event): void {
    this.items.push(event)
    this.wake()
  }

  /** No more items will come; consumers see `exit` after the queued items. */
  end(exit: Exit.Exit<void, LMStudioError>): void {
    if (this.ended !== undefined) return
    this.ended = exit
    this.wake()
  }

  private wake(): void {
    const waiting = this.waiting
    if (waiting !== undefined) {
      this.waiting = undefined
      waiting()
    }
  }

  /** Everything queued since the last take; waits while nothing is; `[]` once the feed ended. */
  readonly take: Effect.Effect<ReadonlyArray<number | Event>, LMStudioError> = Effect.suspend(() => {
    if (this.items.length > 0) {
      const items = this.items
      this.items = []
      return Effect.succeed(items)
    }
    const ended = this.ended
    if (ended !== undefined) return Exit.isSuccess(ended) ? Effect.succeed(NOTHING) : Effect.failCause(ended.cause)
    return Effect.async<ReadonlyArray<number | Event>, LMStudioError>((resume) => {
      this.waiting = () => resume(this.take)
      return Effect.sync(() => {
        this.waiting = undefined
      })
    })
  })
}
