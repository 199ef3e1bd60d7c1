/**
 * One prediction channel (`predict`), run either as a plain loop over its events (the Effect
 * variants, with optional callbacks) or as a Stream of `PredictionEvent`s. Packets are read as
 * they arrive, in the socket's listener (see `Inbox`).
 *
 * Whatever stops a prediction before the server finished it (the caller's fiber interrupted, a
 * Stream consumer that stops early, the inactivity timeout, a malformed packet) sends `cancel`
 * and waits, bounded, for the server to end the channel, so nothing is left generating. Frames
 * that arrive after that are dropped silently by the port (no warning goes back to the server).
 * Once the terminal `success` packet was read nothing is cancelled, whatever the outcome.
 *
 * The inactivity timeout runs on Effect's `Clock` (so `TestClock` drives it), kept by the
 * namespace's one inactivity sweeper: a prediction records when its last packet arrived, and the
 * sweeper queues a marker behind the packets once that is older than the limit. A prediction costs
 * no fiber or timer of its own.
 *
 * @internal
 */
import * as Channel from "effect/Channel"
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import type { LMStudioError } from "../../LMStudioError.js"
import type { LlmInstanceInfo } from "../../ModelInfo.js"
import type * as Prediction from "../../Prediction.js"
import type { HandleContext } from "../handleContext.js"
import type { Inactivity, Watched } from "../models/inactivity.js"
import type { Channel as PortChannel } from "../port.js"
import { Inbox } from "./inbox.js"
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

type Open = PortChannel & { readonly close: Effect.Effect<void> }

interface Running {
  readonly channel: Open
  readonly reader: PredictionReader
  /** The events read so far, as packets arrive. */
  readonly inbox: Inbox
  /** Registered with the namespace's inactivity sweeper while open; `undefined` without a limit. */
  readonly watched: Watched | undefined
  readonly inactivity: Inactivity
}

/** The handle's instance is gone: say so in terms of the handle. */
const inTermsOfHandle = (context: HandleContext<LlmInstanceInfo>) => (error: LMStudioError): LMStudioError =>
  error._tag === "ModelNotFoundError" ? context.gone() : error

/**
 * Opens the channel and starts watching it for inactivity (every packet is timestamped as it
 * arrives). `finish` stops watching.
 */
const open = (
  context: HandleContext<LlmInstanceInfo>,
  request: PredictRequest,
  emitsEvents: boolean
): Effect.Effect<Running, LMStudioError> =>
  Effect.suspend(() => {
    const { inactivity } = context
    const reader = new PredictionReader({
      endpoint: request.endpoint,
      identifier: context.info.identifier,
      inactivityMillis: Duration.toMillis(request.inactivity),
      structured: request.structured,
      emitsEvents,
      redact: context.port.redact
    })
    const inbox = new Inbox(reader)
    let channel: Open | undefined = undefined
    const watched: Watched | undefined = Duration.isFinite(request.inactivity)
      ? { lastActivity: 0, limitMillis: Duration.toMillis(request.inactivity), onTimeout: () => channel?.inject(TIMED_OUT) }
      : undefined
    return Effect.map(
      context.port.openChannelUnscoped(request.endpoint, request.creationParameter, {
        context: { endpoint: request.endpoint },
        reader: inbox,
        ...(watched === undefined ? {} : {
          onPacket: () => {
            watched.lastActivity = inactivity.clock.unsafeCurrentTimeMillis()
          }
        })
      }),
      (opened): Running => {
        channel = opened
        if (watched !== undefined) inactivity.watch(watched)
        return { channel: opened, reader, inbox, watched, inactivity }
      }
    )
  })

/**
 * Ends the channel: if the server has not finished the prediction, cancel it and wait (bounded)
 * for the server to end the channel.
 */
const finish = (running: Running) =>
  Effect.suspend(() => {
    const { channel, reader, watched } = running
    if (watched !== undefined) running.inactivity.unwatch(watched)
    // Finished if the terminal packet arrived, even if the consumer stopped before reading it.
    if (reader.terminal || running.inbox.terminal !== undefined || !channel.isOpen()) return channel.close
    return Effect.ignore(channel.send(CANCEL)).pipe(
      // Finalizers are uninterruptible: the wait must be interruptible for its timeout to end it.
      Effect.zipRight(Effect.ignore(Effect.timeout(Effect.interruptible(running.inbox.awaitEnd), CANCEL_WAIT))),
      Effect.ensuring(channel.close)
    )
  })

/**
 * Runs a prediction for its result, feeding callbacks: a plain loop over the inbox's events
 * (without callbacks, it wakes once: for the result).
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
      restore(loop(running, callbacks)).pipe(
        Effect.onExit(() => finish(running))
      ))
  ).pipe(Effect.mapError(inTermsOfHandle(context)))
}

const loop = (running: Running, callbacks: Callbacks | undefined) =>
  Effect.gen(function*() {
    const { inbox, reader } = running
    let firstToken = true
    while (true) {
      if (!inbox.ready) yield* inbox.wait
      const events = inbox.takeEvents()
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
      if (inbox.events.length > 0) continue // more arrived while the callbacks ran
      if (inbox.terminal !== undefined) {
        const read = reader.read(inbox.terminal)
        if (!Array.isArray(read)) return yield* read as Exclude<typeof read, ReadonlyArray<unknown>>
        return reader.result ?? (yield* reader.endedEarly())
      }
      if (inbox.failure !== undefined) return yield* inbox.failure
    }
  })

/** What a pull hands the stream's loop when nothing is left to emit. */
const END: unique symbol = Symbol("lmstudio-effect/PredictionEnd")

/**
 * The events of one prediction as a Stream ending with `Result` (the caller unwraps it once).
 *
 * Each run of the stream checks the request (`prepared`) and opens the channel on its first pull;
 * its one finaliser ends the channel (cancelling the prediction when the server has not finished
 * it) however the run stops: the end, an error, interruption, or a consumer that stops early.
 * One channel step per wake-up (all the events read since the last one): no scope, no per-event
 * combinators (each Stream layer costs a channel in every pull, and a scope per prediction).
 */
export const events = (
  context: HandleContext<LlmInstanceInfo>,
  prepared: Effect.Effect<PredictRequest, LMStudioError>,
  onResult: (result: Prediction.PredictionResult) => Effect.Effect<void>
): Stream.Stream<Prediction.PredictionEvent, LMStudioError> =>
  Stream.suspend(() => {
    const toError = inTermsOfHandle(context)
    /** Set once the channel is open (from then on, the finaliser ends it). */
    let running: Running | undefined = undefined
    /** Set once the `Result` is out: the next pull ends the stream. */
    let done = false

    type Out = Chunk.Chunk<Prediction.PredictionEvent> | typeof END
    /** The events read so far, or else the result, or else why the stream fails; waits for one. */
    const take = (open: Running): Effect.Effect<Out, LMStudioError> => {
      const { inbox, reader } = open
      if (inbox.events.length > 0) return Effect.succeed(Chunk.unsafeFromArray(inbox.takeEvents()))
      if (inbox.terminal !== undefined) {
        const read = reader.read(inbox.terminal)
        inbox.terminal = undefined
        if (!Array.isArray(read)) return Effect.fail(read as Exclude<typeof read, ReadonlyArray<unknown>>)
        done = true
        return reader.result === undefined ? Effect.succeed(END) : Effect.as(onResult(reader.result), Chunk.unsafeFromArray(read))
      }
      if (inbox.failure !== undefined) return Effect.mapError(inbox.failure, toError)
      return Effect.zipRight(inbox.wait, Effect.suspend(() => take(open)))
    }

    // Checking the request and connecting are interruptible; opening the channel (one synchronous
    // step once connected) is not, and from the moment the channel exists, the finaliser has it.
    const start: Effect.Effect<Out, LMStudioError> = Effect.uninterruptibleMask((restore) =>
      Effect.flatMap(restore(Effect.zipLeft(prepared, context.port.connect)), (request) =>
        Effect.flatMap(open(context, request, true), (opened) => {
          running = opened
          return restore(take(opened))
        }))
    )

    const pull: Effect.Effect<Out, LMStudioError> = Effect.suspend(() => {
      if (running === undefined) return start
      if (done) return Effect.succeed(END)
      return take(running)
    })

    const loop: Channel.Channel<Chunk.Chunk<Prediction.PredictionEvent>, unknown, LMStudioError, unknown, void, unknown> =
      Channel.flatMap(
        Channel.fromEffect(pull),
        (out) => (out === END ? Channel.void : Channel.zipRight(Channel.write(out), loop))
      )
    return Stream.fromChannel(Channel.ensuringWith(loop, () => (running === undefined ? Effect.void : finish(running))))
  })
