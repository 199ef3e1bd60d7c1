/**
 * One load: its channel, how its packets are read, and how it ends.
 *
 * A load's packets are read synchronously as they arrive (in the socket's listener, no fiber or
 * queue per load), whatever its consumers do: each consumer reads a bounded {@link Feed}, so a
 * slow or stuck consumer neither delays the load nor makes it queue packets without limit. The load settles once, with the
 * `Loaded` event or with why it cannot go on (a server error, a malformed packet, a dropped
 * socket, or no packet for its inactivity period).
 *
 * Whatever stops a load before a caller received its handle, `close(run, false)` sends `cancel`,
 * lets the channel end, and unloads the instance if the server finished loading it anyway, so
 * nothing stays loaded because of a call that did not return a handle.
 *
 * @internal
 */
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { type LMStudioError, LoadTimeoutError, ProtocolError } from "../../LMStudioError.js"
import type * as LoadEvent from "../../LoadEvent.js"
import type { Channel, Port } from "../port.js"
import { isLoadedPacket, isProgressPacket, loadPacketTypes } from "../protocol/loadPackets.js"
import { withClientSpan } from "../tracing.js"
import type { Defaults, Domain, InstanceInfoBase } from "./domain.js"
import { Feed } from "./feed.js"
import { protocolError, retryOnFreshConnection } from "./handle.js"
import type { Inactivity, Watched } from "./inactivity.js"
import type { LoadRequest } from "./loadRequest.js"

type Event<Handle, Info> = LoadEvent.LoadEvent<Handle, Info>

const CANCEL = { type: "cancel" } as const

/** A load in flight. Its state is read and written only synchronously (in one fiber step). */
export class LoadRun<Handle, Info> implements Watched {
  lastActivity = 0
  readonly limitMillis: number
  /** The outcome, once settled. */
  outcome: Exit.Exit<void, LMStudioError> | undefined = undefined
  /** The outcome with its `Loaded` event, once settled. */
  private result: Exit.Exit<LoadEvent.Loaded<Handle>, LMStudioError> | undefined = undefined
  /** Fibers waiting for the outcome (a plain list: a Deferred costs ~0.4 KB, and most loads have one waiter). */
  private waiters: Array<(exit: Exit.Exit<LoadEvent.Loaded<Handle>, LMStudioError>) => void> | undefined = undefined
  get settled(): boolean {
    return this.outcome !== undefined
  }
  /** The instance the server loaded for this load, as soon as a packet says so. */
  serverLoaded: { readonly identifier: string; readonly instanceReference: string } | undefined = undefined
  lastProgress = -1
  readonly feeds = new Set<Feed<Event<Handle, Info>>>()
  /** The channel ended (closed by the server, failed, or the socket dropped). */
  private channelEnded = false
  private endWaiters: Array<() => void> | undefined = undefined

  constructor(
    readonly request: LoadRequest,
    readonly channel: Channel & { readonly close: Effect.Effect<void> },
    readonly onTimeout: () => void
  ) {
    this.limitMillis = Duration.isFinite(request.inactivity) ? Duration.toMillis(request.inactivity) : Infinity
  }

  /** Ends the load with `exit` (the first outcome wins) and tells every consumer. */
  settle(exit: Exit.Exit<LoadEvent.Loaded<Handle>, LMStudioError>): void {
    if (this.outcome !== undefined) return
    const end = Exit.asVoid(exit)
    this.outcome = end
    this.result = exit
    const waiters = this.waiters
    this.waiters = undefined
    if (waiters !== undefined) for (const waiter of waiters) waiter(exit)
    for (const feed of this.feeds) feed.end(end)
  }

  /** Waits for the outcome. */
  awaitResult(): Effect.Effect<LoadEvent.Loaded<Handle>, LMStudioError> {
    return Effect.async((resume) => {
      if (this.result !== undefined) return resume(this.result)
      const waiters = (this.waiters ??= [])
      waiters.push(resume)
      return Effect.sync(() => {
        const index = this.waiters?.indexOf(resume) ?? -1
        if (index >= 0) this.waiters?.splice(index, 1)
      })
    })
  }

  /** The channel ended: wakes whoever waits for it (cleanup after a cancel). */
  endChannel(): void {
    this.channelEnded = true
    const waiters = this.endWaiters
    this.endWaiters = undefined
    if (waiters !== undefined) for (const waiter of waiters) waiter()
  }

  /** Waits until the channel ends. */
  awaitChannelEnd(): Effect.Effect<void> {
    return Effect.async((resume) => {
      if (this.channelEnded) return resume(Effect.void)
      const done = () => resume(Effect.void)
      const waiters = (this.endWaiters ??= [])
      waiters.push(done)
      return Effect.sync(() => {
        const index = this.endWaiters?.indexOf(done) ?? -1
        if (index >= 0) this.endWaiters?.splice(index, 1)
      })
    })
  }

  /** Adds a consumer; one that comes late starts from the latest progress. */
  subscribe(feed: Feed<Event<Handle, Info>>): void {
    if (this.result !== undefined) {
      // A consumer that comes after the end still gets the handle.
      if (Exit.isSuccess(this.result)) feed.event(this.result.value)
      return feed.end(Exit.asVoid(this.result))
    }
    if (this.lastProgress >= 0) feed.progress(this.lastProgress)
    this.feeds.add(feed)
  }

  progress(value: number): void {
    const progress = Math.min(1, Math.max(0, value))
    if (!(progress > this.lastProgress)) return // repeats and regressions are dropped
    this.lastProgress = progress
    for (const feed of this.feeds) feed.progress(progress)
  }

  event(event: Event<Handle, Info>): void {
    for (const feed of this.feeds) feed.event(event)
  }
}

export interface LoadRuns<Handle, Info> {
  /** Opens the load's channel and starts reading it (connect first; run uninterruptibly). */
  readonly start: (request: LoadRequest) => Effect.Effect<LoadRun<Handle, Info>, LMStudioError>
  /**
   * Ends a load. `kept`: a caller received its instance (just close the channel); otherwise
   * cancel it and unload what the server loaded anyway.
   */
  readonly close: (run: LoadRun<Handle, Info>, kept: boolean) => Effect.Effect<void>
  /** Waits for the outcome, running `onProgress` (in the calling fiber) for each fraction. */
  readonly awaitLoaded: (
    run: LoadRun<Handle, Info>,
    onProgress: ((progress: number) => Effect.Effect<void>) | undefined
  ) => Effect.Effect<LoadEvent.Loaded<Handle>, LMStudioError>
  /** A load as a stream of events ending with `Loaded`; stopping early cancels it. */
  readonly events: (request: LoadRequest) => Stream.Stream<Event<Handle, Info>, LMStudioError>
  /** Loads with `loadModel` for one caller. `onKept` runs in the step that delivers the handle. */
  readonly runLoad: (
    request: LoadRequest,
    onProgress: ((progress: number) => Effect.Effect<void>) | undefined,
    onKept?: (loaded: LoadEvent.Loaded<Handle>) => void
  ) => Effect.Effect<LoadEvent.Loaded<Handle>, LMStudioError>
}

export const makeLoadRuns = <Info, InstanceInfo extends InstanceInfoBase, Config, Handle>(options: {
  readonly domain: Domain<Info, InstanceInfo, Config, Handle>
  readonly port: Port
  readonly defaults: Defaults
  readonly inactivity: Inactivity
  readonly clientScope: Scope.Scope
  readonly handleFor: (info: InstanceInfo) => Handle
  readonly unloadInstance: (instanceReference: string, identifier: string) => Effect.Effect<void, LMStudioError>
}): LoadRuns<Handle, Info> => {
  const { clientScope, defaults, domain, handleFor, inactivity, port } = options
  const clock = inactivity.clock
  const decodePacket = domain.decoders.packet
  type Run = LoadRun<Handle, Info>

  /** Reads one packet into the run: its events, its progress, or its outcome. */
  const read = (run: Run, raw: unknown): void => {
    if (run.settled) {
      // Only what cleanup needs: did the server load an instance anyway?
      if (isLoadedPacket(raw)) run.serverLoaded = raw.info
      return
    }
    // Progress packets are nearly all of a load's traffic: checked by hand, same rules as the schema.
    if (isProgressPacket(raw)) return run.progress(raw.progress)
    const decoded = decodePacket(raw)
    if (Either.isLeft(decoded)) return run.settle(Exit.fail(protocolError(run.request.endpoint, port.redact)(decoded.left)))
    const packet = decoded.right
    switch (packet.type) {
      case "resolved":
        if (run.feeds.size === 0) return
        return run.event({ _tag: "Resolved", info: packet.info, identifier: undefined, ambiguous: packet.ambiguous ?? [] })
      case "startLoading":
        if (run.feeds.size === 0) return
        return run.event({ _tag: "Resolved", info: packet.info, identifier: packet.identifier, ambiguous: [] })
      case "progress":
      case "loadProgress":
        return run.progress(packet.progress)
      case "unloadingOtherJITModel":
        return run.event({ _tag: "UnloadingOtherJitModel", info: packet.info })
      case "success":
      case "loadSuccess":
      case "alreadyLoaded": {
        const byThisCall = packet.type !== "alreadyLoaded"
        if (byThisCall) {
          run.serverLoaded = packet.info
          run.progress(1)
        }
        const loaded: LoadEvent.Loaded<Handle> = { _tag: "Loaded", handle: handleFor(packet.info), loadedByThisCall: byThisCall }
        run.event(loaded)
        return run.settle(Exit.succeed(loaded))
      }
    }
  }

  /** What the end of the channel means for a load that has not settled yet. */
  const channelEnd = (run: Run, exit: Exit.Exit<void, LMStudioError>): void => {
    run.endChannel()
    if (run.settled) return
    run.settle(
      Exit.isFailure(exit)
        ? Exit.failCause(exit.cause)
        : Exit.fail(new ProtocolError({ endpoint: run.request.endpoint, detail: "the load channel closed before the model was loaded" }))
    )
  }

  const start = (request: LoadRequest): Effect.Effect<Run, LMStudioError> =>
    Effect.suspend(() => {
      // Packets (and the channel's end) that arrive before the run exists — the fiber may yield
      // between sending the create frame and getting the channel — wait here, then are replayed.
      let opened: Run | undefined = undefined
      let early: Array<unknown> | undefined = undefined
      let earlyEnd: Exit.Exit<void, LMStudioError> | undefined = undefined
      return Effect.map(
        port.openChannelUnscoped(request.endpoint, request.creationParameter, {
          context: {
            endpoint: request.endpoint,
            ...(request.requestedIdentifier === undefined ? {} : { requestedIdentifier: request.requestedIdentifier })
          },
          // A packet type from a newer LM Studio is dropped (and logged) by the port, not a failure.
          // No `coalesce`: packets are read as they arrive, and progress is coalesced per consumer
          // (see Feed), so a consumer that keeps up still sees every fraction.
          packetTypes: loadPacketTypes,
          reader: {
            packet: (raw) => {
              if (opened === undefined) return void (early ??= []).push(raw)
              opened.lastActivity = clock.unsafeCurrentTimeMillis()
              read(opened, raw)
            },
            end: (exit) => {
              if (opened === undefined) earlyEnd = exit
              else channelEnd(opened, exit)
            }
          }
        }),
        (channel) => {
          const run: Run = new LoadRun(request, channel, () =>
            run.settle(Exit.fail(
              new LoadTimeoutError({ modelKey: request.modelKey, inactivityMillis: Duration.toMillis(request.inactivity) })
            )))
          opened = run
          inactivity.watch(run)
          if (early !== undefined) for (const raw of early) read(run, raw)
          if (earlyEnd !== undefined) channelEnd(run, earlyEnd)
          early = earlyEnd = undefined
          return run
        }
      )
    })

  /**
   * After a load stopped before its handle was delivered: cancel it if the channel is still open,
   * let the channel end, and unload whatever the server loaded anyway (it may have finished just
   * before the cancel arrived).
   *
   * Known limit: if the server is slow to answer the cancel, another get-or-load may find that
   * late instance (`alreadyLoaded`) before this cleanup unloads it.
   */
  const cancelAndCleanUp = (run: Run) =>
    Effect.gen(function*() {
      const channel = run.channel
      if (channel.isOpen()) yield* Effect.ignore(channel.send(CANCEL))
      const cleanUp = Effect.gen(function*() {
        // Packets are still read until the server ends the channel, so a late `success` is seen.
        yield* run.awaitChannelEnd().pipe(Effect.timeout(defaults.cancelGrace), Effect.ignore)
        const loaded = run.serverLoaded
        if (loaded !== undefined) {
          yield* Effect.ignore(retryOnFreshConnection(options.unloadInstance(loaded.instanceReference, loaded.identifier)))
        }
      }).pipe(Effect.ensuring(channel.close))
      // The cleanup outlives the caller (in the client's scope) so that a server that never
      // answers the cancel delays the caller by at most `cancelWait`.
      const fiber = yield* Effect.forkIn(Effect.interruptible(cleanUp), clientScope)
      yield* Effect.ignore(Effect.timeout(Effect.interruptible(Fiber.await(fiber)), defaults.cancelWait))
    }).pipe(withClientSpan(`LMStudio.${domain.name}.cancelLoad`))

  const close = (run: Run, kept: boolean): Effect.Effect<void> =>
    Effect.suspend(() => {
      inactivity.unwatch(run)
      // A load that ended without a caller keeping it is settled, so a late reader sees why.
      run.settle(Exit.interrupt(FiberId.none))
      if (kept) return run.channel.close
      return cancelAndCleanUp(run)
    })

  const awaitLoaded: LoadRuns<Handle, Info>["awaitLoaded"] = (run, onProgress) => {
    if (onProgress === undefined) return run.awaitResult()
    return Effect.suspend(() => {
      const feed = new Feed<Event<Handle, Info>>()
      run.subscribe(feed)
      return Effect.gen(function*() {
        while (true) {
          const items = yield* feed.take
          if (items.length === 0) return yield* run.awaitResult()
          for (const item of items) {
            if (typeof item === "number") yield* onProgress(item)
            else if (item._tag === "Loaded") return item
          }
        }
      }).pipe(Effect.ensuring(Effect.sync(() => run.feeds.delete(feed))))
    })
  }

  const runLoad: LoadRuns<Handle, Info>["runLoad"] = (request, onProgress, onKept) =>
    // Not Effect.scoped: a scope costs tens of microseconds, a mask a fraction of one. Connecting
    // is interruptible; opening the channel (one synchronous step once connected) is not, and from
    // the moment the channel exists, closing it is guaranteed.
    Effect.uninterruptibleMask((restore) =>
      Effect.flatMap(Effect.zipRight(restore(port.connect), start(request)), (run) =>
        restore(awaitLoaded(run, onProgress)).pipe(
          Effect.onExit((exit) => {
            if (Exit.isSuccess(exit)) onKept?.(exit.value)
            return close(run, Exit.isSuccess(exit))
          })
        ))
    )

  const events: LoadRuns<Handle, Info>["events"] = (request) =>
    Stream.unwrapScoped(Effect.gen(function*() {
      yield* port.connect
      let delivered = false
      const feed = new Feed<Event<Handle, Info>>()
      yield* Effect.acquireRelease(
        Effect.tap(start(request), (run) => run.subscribe(feed)),
        (run) => close(run, delivered)
      )
      return Stream.repeatEffectChunkOption(
        Effect.flatMap(Effect.mapError(feed.take, Option.some), (items) => {
          if (items.length === 0) return Effect.fail(Option.none())
          const events: Array<Event<Handle, Info>> = []
          for (const item of items) events.push(typeof item === "number" ? { _tag: "Progress", progress: item } : item)
          return Effect.succeed(Chunk.unsafeFromArray(events))
        })
      ).pipe(
        Stream.takeUntil((event) => event._tag === "Loaded"),
        Stream.tap((event) =>
          event._tag === "Loaded"
            ? Effect.sync(() => {
              delivered = true
            })
            : Effect.void
        )
      )
    }))

  return { start, close, awaitLoaded, events, runLoad }
}
