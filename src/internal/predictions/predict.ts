/**
 * One prediction channel (`predict`), run either as a plain loop over its packets (the Effect
 * variants, with optional callbacks) or as a Stream of `PredictionEvent`s.
 *
 * Whatever stops a prediction before the server finished it (the caller's fiber interrupted, a
 * Stream consumer that stops early, the inactivity timeout, a malformed packet) sends `cancel`
 * and waits, bounded, for the server to end the channel, so nothing is left generating. Frames
 * that arrive after that are dropped silently by the port (no warning goes back to the server).
 * Once the terminal `success` packet was read nothing is cancelled, whatever the outcome.
 *
 * The inactivity timeout runs on Effect's `Clock` (so `TestClock` drives it): one watchdog fiber
 * per prediction that sleeps until the last packet is older than the limit, then queues a marker
 * behind the packets.
 *
 * @internal
 */
import * as Chunk from "effect/Chunk"
import type * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { LMStudioError } from "../../LMStudioError.js"
import type { LlmInstanceInfo } from "../../ModelInfo.js"
import type * as Prediction from "../../Prediction.js"
import type { HandleContext } from "../handleContext.js"
import type { Channel } from "../port.js"
import { PredictionReader, TIMED_OUT } from "./reader.js"
import type { Structured } from "./structured.js"

/** Everything needed to open one prediction, checked before any I/O. */
export interface PredictRequest {
  readonly endpoint: "predict"
  readonly creationParameter: Record<string, unknown>
  readonly inactivity: Duration.Duration
  readonly structured: Structured | undefined
}

/** Callbacks of the Effect variants. */
export interface Callbacks {
  readonly onPromptProcessingProgress?:
    | ((progress: number, details: Prediction.PromptProcessingDetails | undefined) => Effect.Effect<void>)
    | undefined
  readonly onFirstToken?: (() => Effect.Effect<void>) | undefined
  readonly onFragment?: ((fragment: Prediction.Fragment) => Effect.Effect<void>) | undefined
}

const CANCEL = { type: "cancel" } as const

/**
 * How long a cancelled prediction waits for the server to end its channel [inferred: LM Studio
 * answers a cancel at once, with a `userStopped` result].
 */
const CANCEL_WAIT = Duration.seconds(2)

type Open = Channel & { readonly close: Effect.Effect<void> }

interface Running {
  readonly channel: Open
  readonly reader: PredictionReader
  readonly clock: Clock.Clock
  /** The inactivity limit in milliseconds; `undefined` when there is none. */
  readonly limit: number | undefined
  /** When the last packet arrived, on `clock`. */
  lastPacket: number
  watchdog: Fiber.RuntimeFiber<void> | undefined
}

/** The handle's instance is gone: say so in terms of the handle. */
const inTermsOfHandle = (context: HandleContext<LlmInstanceInfo>) => (error: LMStudioError): LMStudioError =>
  error._tag === "ModelNotFoundError" ? context.gone() : error

/** Opens the channel; every packet is timestamped as it arrives (for the inactivity limit). */
const open = (
  context: HandleContext<LlmInstanceInfo>,
  request: PredictRequest,
  emitsEvents: boolean
): Effect.Effect<Running, LMStudioError> =>
  Effect.clockWith((clock) => {
    const reader = new PredictionReader({
      endpoint: request.endpoint,
      identifier: context.info.identifier,
      inactivityMillis: Duration.toMillis(request.inactivity),
      structured: request.structured,
      emitsEvents,
      redact: context.port.redact
    })
    const limit = Duration.isFinite(request.inactivity) ? Duration.toMillis(request.inactivity) : undefined
    const running: Omit<Running, "channel"> & { channel: Open | undefined } = {
      channel: undefined,
      reader,
      clock,
      limit,
      lastPacket: clock.unsafeCurrentTimeMillis(),
      watchdog: undefined
    }
    return Effect.map(
      context.port.openChannelUnscoped(request.endpoint, request.creationParameter, {
        context: { endpoint: request.endpoint },
        ...(limit === undefined ? {} : {
          onPacket: () => {
            running.lastPacket = clock.unsafeCurrentTimeMillis()
          }
        })
      }),
      (channel) => {
        running.channel = channel
        return running as Running
      }
    )
  })

/** Sleeps until no packet came for the whole limit, then queues the timeout marker. */
const watchdog = (running: Running, limit: number): Effect.Effect<void> =>
  Effect.suspend(() => {
    const idle = running.clock.unsafeCurrentTimeMillis() - running.lastPacket
    if (idle >= limit) return Effect.sync(() => running.channel.inject(TIMED_OUT))
    return Effect.zipRight(running.clock.sleep(Duration.millis(limit - idle)), watchdog(running, limit))
  })

/** Forks the watchdog (interruptible, whatever the caller's region), if there is a limit. */
const watch = (running: Running) =>
  running.limit === undefined ? Effect.void : Effect.map(
    Effect.fork(Effect.interruptible(watchdog(running, running.limit))),
    (fiber) => {
      running.watchdog = fiber
    }
  )

/**
 * Ends the channel: if the server has not finished the prediction, cancel it and wait (bounded)
 * for the server to end the channel.
 */
const finish = (running: Running) =>
  Effect.suspend(() => {
    const stopWatchdog = running.watchdog === undefined ? Effect.void : Fiber.interrupt(running.watchdog)
    const { channel, reader } = running
    if (reader.terminal || !channel.isOpen()) return Effect.zipRight(stopWatchdog, channel.close)
    return stopWatchdog.pipe(
      Effect.zipRight(Effect.ignore(channel.send(CANCEL))),
      Effect.zipRight(Effect.ignore(Effect.timeout(drain(channel), CANCEL_WAIT))),
      Effect.ensuring(channel.close)
    )
  })

/** Reads and drops packets until the server ends the channel. */
const drain = (channel: Open): Effect.Effect<void, LMStudioError> =>
  Effect.flatMap(channel.packets.takeAll, ([, done]) => (done ? Effect.void : drain(channel)))

/**
 * Runs a prediction for its result, feeding callbacks: a plain loop over the channel's packets.
 */
export const run = (
  context: HandleContext<LlmInstanceInfo>,
  request: PredictRequest,
  callbacks: Callbacks | undefined
): Effect.Effect<Prediction.PredictionResult, LMStudioError> => {
  const emitsEvents = callbacks !== undefined &&
    (callbacks.onFragment !== undefined || callbacks.onFirstToken !== undefined ||
      callbacks.onPromptProcessingProgress !== undefined)
  // Connecting is interruptible; opening the channel (one synchronous step once connected) is
  // not, and from the moment the channel exists, `finish` is guaranteed to run.
  return Effect.uninterruptibleMask((restore) =>
    Effect.flatMap(Effect.zipRight(restore(context.port.connect), open(context, request, emitsEvents)), (running) =>
      restore(Effect.zipRight(watch(running), loop(running, callbacks))).pipe(
        Effect.onExit(() => finish(running))
      ))
  ).pipe(Effect.mapError(inTermsOfHandle(context)))
}

const loop = (running: Running, callbacks: Callbacks | undefined) =>
  Effect.gen(function*() {
    const { channel, reader } = running
    let firstToken = true
    while (true) {
      const [chunk, done] = yield* channel.packets.takeAll
      for (const raw of chunk) {
        const events = reader.read(raw)
        if (!Array.isArray(events)) return yield* events as Exclude<typeof events, ReadonlyArray<unknown>>
        if (callbacks !== undefined) {
          for (const event of events) {
            if (event._tag === "Fragment") {
              if (firstToken) {
                firstToken = false
                if (callbacks.onFirstToken !== undefined) yield* callbacks.onFirstToken()
              }
              if (callbacks.onFragment !== undefined) yield* callbacks.onFragment(event)
            } else if (event._tag === "PromptProcessing" && callbacks.onPromptProcessingProgress !== undefined) {
              yield* callbacks.onPromptProcessingProgress(event.progress, event.details)
            }
          }
        }
        if (reader.result !== undefined) return reader.result
      }
      if (done) return yield* reader.endedEarly()
    }
  })

/**
 * Opens a prediction in the current scope and gives its events as a Stream ending with `Result`
 * (the caller unwraps it once). Closing the scope before the server finished cancels the
 * prediction. One pull per batch of packets, no per-event combinators.
 */
export const events = (
  context: HandleContext<LlmInstanceInfo>,
  request: PredictRequest,
  onResult: (result: Prediction.PredictionResult) => Effect.Effect<void>
): Effect.Effect<Stream.Stream<Prediction.PredictionEvent, LMStudioError>, LMStudioError, Scope.Scope> =>
    Effect.acquireRelease(open(context, request, true), finish).pipe(
      Effect.tap(watch),
      Effect.map(({ channel, reader }) => {
        const toError = inTermsOfHandle(context)
        /** Set once the stream has nothing more to emit: the end, or the error it ends with. */
        let next: Option.Option<LMStudioError> | undefined = undefined
        /**
         * Packets taken but not read yet. Until the first fragment is out, a pull stops right
         * after it (the rest waits here), so the first token is not held back by a whole burst.
         */
        let pending: { readonly packets: ReadonlyArray<unknown>; readonly done: boolean } | undefined = undefined
        let firstFragmentOut = false
        const readBatch = (
          packets: ReadonlyArray<unknown>,
          done: boolean
        ): Effect.Effect<Chunk.Chunk<Prediction.PredictionEvent>, Option.Option<LMStudioError>> => {
          const out: Array<Prediction.PredictionEvent> = []
          for (let i = 0; i < packets.length; i++) {
            const read = reader.read(packets[i])
            if (!Array.isArray(read)) return Effect.fail(Option.some(read as Exclude<typeof read, ReadonlyArray<unknown>>))
            for (const event of read) out.push(event)
            if (reader.result !== undefined) {
              next = Option.none()
              return Effect.as(onResult(reader.result), Chunk.unsafeFromArray(out))
            }
            if (!firstFragmentOut && out.some((event) => event._tag === "Fragment")) {
              firstFragmentOut = true
              if (i + 1 < packets.length || done) pending = { packets: packets.slice(i + 1), done }
              return Effect.succeed(Chunk.unsafeFromArray(out))
            }
          }
          if (done) next = Option.some(reader.endedEarly())
          return Effect.succeed(Chunk.unsafeFromArray(out))
        }
        const pull: Effect.Effect<Chunk.Chunk<Prediction.PredictionEvent>, Option.Option<LMStudioError>> = Effect.suspend(
          () => {
            if (next !== undefined) return Effect.fail(next)
            if (pending !== undefined) {
              const { done, packets } = pending
              pending = undefined
              return readBatch(packets, done)
            }
            return Effect.matchEffect(channel.packets.takeAll, {
              onFailure: (error) => Effect.fail(Option.some(toError(error))),
              onSuccess: ([chunk, done]) => readBatch(Chunk.toReadonlyArray(chunk), done)
            })
          }
        )
        return Stream.repeatEffectChunkOption(pull)
      })
    )
