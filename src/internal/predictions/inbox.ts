/**
 * The inbound side of one prediction channel: packets are read as they arrive, in the socket's
 * listener, into the events the consumer has not taken yet. The consumer's fiber wakes only when
 * there is something for it (events, the end, or an error), at most once per turn of the event
 * loop's I/O phase: no queue of raw packets, no wake-up per socket read.
 *
 * The terminal `success` packet is not read here but handed to the consumer, which reads it in
 * its own fiber: building the result decodes it (and, for structured output, the caller's
 * Schema), which has no place in a socket listener.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type { LMStudioError } from "../../LMStudioError.js"
import type * as Prediction from "../../Prediction.js"
import type { ChannelReader } from "../connection.js"
import type { PredictionReader } from "./reader.js"

export class Inbox implements ChannelReader {
  /** Events read and not taken yet, in order. */
  events: Array<Prediction.PredictionEvent> = []
  /** The terminal `success` packet, once it arrived and until the consumer reads it. */
  terminal: unknown = undefined
  /** Why the prediction cannot go on (a packet it could not read, or the channel's failure). */
  failure: Effect.Effect<never, LMStudioError> | undefined = undefined
  /** Nothing more is read: the terminal packet, an error or the channel's end came. */
  private closed = false
  private waiter: ((wake: Effect.Effect<void>) => void) | undefined = undefined
  private channelEnded = false
  private endWaiter: ((wake: Effect.Effect<void>) => void) | undefined = undefined

  constructor(private readonly reader: PredictionReader) {}

  /** Whether the consumer has something to take (or nothing will ever come). */
  get ready(): boolean {
    return this.events.length > 0 || this.closed
  }

  /** Takes the events read so far. */
  takeEvents(): Array<Prediction.PredictionEvent> {
    const events = this.events
    this.events = []
    return events
  }

  readonly packet = (raw: unknown): void => {
    if (this.closed) return
    if (typeof raw === "object" && raw !== null && (raw as { readonly type?: unknown }).type === "success") {
      this.terminal = raw
      this.closed = true
      return this.wake()
    }
    const read = this.reader.read(raw)
    if (!Array.isArray(read)) {
      this.failure = Effect.fail(read as Exclude<typeof read, ReadonlyArray<unknown>>)
      this.closed = true
    } else if (read.length === 0) {
      return
    } else {
      for (const event of read) this.events.push(event)
    }
    this.wake()
  }

  readonly end = (exit: Exit.Exit<void, LMStudioError>): void => {
    this.channelEnded = true
    const endWaiter = this.endWaiter
    this.endWaiter = undefined
    endWaiter?.(Effect.void)
    if (this.closed) return
    this.closed = true
    this.failure = Exit.isFailure(exit) ? Effect.failCause(exit.cause) : Effect.fail(this.reader.endedEarly())
    this.wake()
  }

  /** Waits until the consumer has something to take. */
  readonly wait: Effect.Effect<void> = Effect.async((resume) => {
    if (this.ready) return resume(Effect.void)
    this.waiter = resume
    return Effect.sync(() => {
      this.waiter = undefined
    })
  })

  /** Waits until the channel ends (closed by the server, failed, or the socket dropped). */
  readonly awaitEnd: Effect.Effect<void> = Effect.async((resume) => {
    if (this.channelEnded) return resume(Effect.void)
    this.endWaiter = resume
    return Effect.sync(() => {
      this.endWaiter = undefined
    })
  })

  /**
   * Wakes the consumer once the event loop's current I/O phase is done, not after each socket
   * read: when many predictions share a socket, a burst of one of them often spans two reads,
   * and each wake-up costs the consumer a pull through its Stream.
   */
  private wake(): void {
    if (this.waiter === undefined || this.wakeQueued) return
    this.wakeQueued = true
    toWake.push(this)
    if (toWake.length === 1) afterIo(wakeAll)
  }

  private wakeQueued = false

  /** Wakes the consumer now, if it waits (see `wake`). */
  wakeNow(): void {
    this.wakeQueued = false
    const waiter = this.waiter
    if (waiter === undefined) return
    this.waiter = undefined
    waiter(Effect.void)
  }
}

/** Inboxes whose consumer is woken after the current I/O phase. */
let toWake: Array<Inbox> = []

const wakeAll = (): void => {
  const inboxes = toWake
  toWake = []
  for (const inbox of inboxes) inbox.wakeNow()
}

const afterIo: (f: () => void) => void = typeof setImmediate === "function"
  ? (f) => setImmediate(f)
  : (f) => setTimeout(f, 0)
