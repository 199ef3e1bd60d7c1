/**
 * The model-management logic behind `client.llm` and `client.embedding`, parameterised by domain.
 *
 * Loads are streams of channel packets. Whatever stops a load before the caller received its
 * handle (interruption, an inactivity timeout, a failing progress callback) sends `cancel`, waits
 * for the channel to end, and unloads the instance if the server finished loading it anyway, so
 * that nothing stays loaded because of a call that did not return a handle.
 *
 * @internal
 */
import * as Chunk from "effect/Chunk"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as Mailbox from "effect/Mailbox"
import * as ParseResult from "effect/ParseResult"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { InvalidArgumentError, type LMStudioError, LoadTimeoutError, ModelNotFoundError, ProtocolError } from "../LMStudioError.js"
import type * as LoadEvent from "../LoadEvent.js"
import { ModelInstanceInfo, ModelQuery } from "../ModelInfo.js"
import type * as Api from "../ModelNamespace.js"
import type { HandleContext, OperationDefaults } from "./handleContext.js"
import type { Channel, Port } from "./port.js"
import { apiOverrideStack, KVConfig, type KVConfigField } from "./protocol/kvConfig.js"
import { annotate, withClientSpan } from "./tracing.js"
import * as Validate from "./validate.js"

/** What every instance info has, whatever its domain. */
export interface InstanceInfoBase {
  readonly identifier: string
  readonly modelKey: string
  readonly instanceReference: string
  readonly contextLength: number
}

/** Everything that differs between the LLM and embedding domains. */
export interface Domain<Info, InstanceInfo extends InstanceInfoBase, Config, Handle> {
  readonly name: "llm" | "embedding"
  /** How a person calls a model of this domain: "LLM", "embedding model". */
  readonly noun: string
  readonly info: Schema.Schema<Info, any>
  readonly instanceInfo: Schema.Schema<InstanceInfo, any>
  readonly isInfo: (u: unknown) => boolean
  readonly validateConfig: (config: unknown) => Effect.Effect<Config, InvalidArgumentError>
  readonly configToFields: (config: Config) => ReadonlyArray<KVConfigField>
  readonly configFromKV: (kv: KVConfig) => Config
  readonly contextLengthKey: string
  /** The `_tag` of this domain's handles. */
  readonly handleTag: Handle extends { readonly _tag: infer Tag } ? Tag : never
  /** The operations this domain adds to its handles (respond, embed, tokenize, …). */
  readonly operations: (context: HandleContext<InstanceInfo>) => Omit<Handle, keyof Api.ModelHandle<InstanceInfo, Config> | "_tag">
}

/** Client-wide defaults that each call may override. */
export interface Defaults {
  readonly ttl: Duration.DurationInput | undefined
  readonly loadInactivityTimeout: Duration.Duration
  /** How long the background cleanup of a cancelled load waits for the server to end it. */
  readonly cancelGrace: Duration.Duration
  /** How long the cancelling caller itself waits for that cleanup. */
  readonly cancelWait: Duration.Duration
  /** How long closing a scope waits to unload the instance it owns. */
  readonly releaseTimeout: Duration.Duration
  /** Defaults of the handles' operations. */
  readonly operations: OperationDefaults
}

interface LoadRequest {
  readonly endpoint: "loadModel" | "getOrLoad"
  readonly modelKey: string
  readonly requestedIdentifier: string | undefined
  readonly creationParameter: Record<string, unknown>
  readonly inactivity: Duration.Duration
}

type Event<Handle, Info> = LoadEvent.LoadEvent<Handle, Info>

/** Load-channel packets of both endpoints. */
const packetSchema = <Info, InstanceInfo>(
  info: Schema.Schema<Info, any>,
  instanceInfo: Schema.Schema<InstanceInfo, any>
) =>
  Schema.Union(
    Schema.Struct({ type: Schema.Literal("resolved"), info, ambiguous: Schema.optional(Schema.Array(Schema.String)) }),
    Schema.Struct({ type: Schema.Literal("startLoading"), identifier: Schema.String, info }),
    Schema.Struct({ type: Schema.Literal("progress", "loadProgress"), progress: Schema.Number }),
    Schema.Struct({ type: Schema.Literal("unloadingOtherJITModel"), info: ModelInstanceInfo }),
    Schema.Struct({ type: Schema.Literal("success", "loadSuccess", "alreadyLoaded"), info: instanceInfo })
  )

const isLoadedPacket = (u: unknown): u is { type: "success" | "loadSuccess"; info: { identifier: string } } => {
  if (typeof u !== "object" || u === null) return false
  const packet = u as { type?: unknown; info?: { identifier?: unknown } }
  return (packet.type === "success" || packet.type === "loadSuccess") && typeof packet.info?.identifier === "string"
}

const isProgressPacket = (u: unknown): u is { readonly type: string; readonly progress: number } => {
  if (typeof u !== "object" || u === null) return false
  const packet = u as { type?: unknown; progress?: unknown }
  return (packet.type === "progress" || packet.type === "loadProgress") && typeof packet.progress === "number"
}

const CANCEL = { type: "cancel" } as const

const NO_EVENTS: ReadonlyArray<never> = []

/** Joins a load channel's packets when the load made no progress for too long. */
const TIMED_OUT: unique symbol = Symbol("lmstudio-effect/LoadTimedOut")

/** A get-or-load in flight that later `model(key)` callers join. */
interface SharedLoad<Handle> {
  /** The load's outcome; `undefined` when the caller running it gave up (joiners start over). */
  readonly result: Deferred.Deferred<LoadEvent.Loaded<Handle> | undefined, LMStudioError>
  /** Joiners' progress callbacks. */
  readonly listeners: Set<(progress: number) => void>
}

const decodeKV = Schema.decodeUnknown(KVConfig)
const decodeQuery = Schema.decodeUnknown(ModelQuery, { onExcessProperty: "error" })

/** A domain's decoders, compiled once per domain rather than once per client. */
const decoders = new WeakMap<object, unknown>()
const makeDecoders = <Info, InstanceInfo>(info: Schema.Schema<Info, any>, instanceInfo: Schema.Schema<InstanceInfo, any>) => ({
  decodePacket: Schema.decodeUnknownEither(packetSchema(info, instanceInfo)),
  decodeInstance: Schema.decodeUnknown(instanceInfo),
  decodeInstances: Schema.decodeUnknown(Schema.Array(instanceInfo)),
  decodeInfos: Schema.decodeUnknown(Schema.Array(info))
})
const decodersOf = <Info, InstanceInfo extends InstanceInfoBase, Config, Handle>(
  domain: Domain<Info, InstanceInfo, Config, Handle>
): ReturnType<typeof makeDecoders<Info, InstanceInfo>> => {
  let cached = decoders.get(domain)
  if (cached === undefined) {
    cached = makeDecoders(domain.info, domain.instanceInfo)
    decoders.set(domain, cached)
  }
  return cached as ReturnType<typeof makeDecoders<Info, InstanceInfo>>
}

export const make = <Info, InstanceInfo extends InstanceInfoBase, Config, Handle>(
  domain: Domain<Info, InstanceInfo, Config, Handle>,
  port: Port,
  files: Port,
  listDownloadedModels: Effect.Effect<ReadonlyArray<unknown>, LMStudioError>,
  defaults: Defaults,
  clientScope: Scope.Scope
): {
  readonly namespace: Api.ModelNamespace<Handle, Info, InstanceInfo, Config>
  /** Unloads the instances that scopes still own; run when the client closes. */
  readonly releaseAllOwned: Effect.Effect<void>
} => {
  const spanName = (method: string) => `LMStudio.${domain.name}.${method}`
  const { decodeInfos, decodeInstance, decodeInstances, decodePacket } = decodersOf(domain)

  const protocolError = (endpoint: string) => (error: ParseResult.ParseError) =>
    new ProtocolError({ endpoint, detail: ParseResult.TreeFormatter.formatErrorSync(error) })

  // ------------------------------------------------------------------------------------------
  // Handles
  // ------------------------------------------------------------------------------------------

  const unloadIdentifier = (identifier: string) => Effect.asVoid(port.call("unloadModel", { identifier }))

  const handleSpan = (method: string, info: InstanceInfo) =>
    withClientSpan(spanName(method), { "lmstudio.identifier": info.identifier, "lmstudio.model_key": info.modelKey })
  const specifierOf = (info: InstanceInfo) => ({ type: "instanceReference", instanceReference: info.instanceReference })

  const getInfoOf = (info: InstanceInfo): Effect.Effect<InstanceInfo, LMStudioError> =>
    port.call("getModelInfo", { specifier: specifierOf(info), throwIfNotFound: false }).pipe(
      Effect.flatMap((result): Effect.Effect<InstanceInfo, LMStudioError> =>
        result === undefined
          ? Effect.fail(
            new ModelNotFoundError({
              title: `The ${domain.noun} "${info.identifier}" has already been unloaded`,
              suggestion: `Get a fresh handle with client.${domain.name}.model(key) or loadNewInstance(key).`
            })
          )
          : Effect.mapError(decodeInstance(result), protocolError("getModelInfo"))
      )
    )

  const loadConfigOf = (info: InstanceInfo) =>
    port.call("getLoadConfig", { specifier: specifierOf(info) }).pipe(
      Effect.flatMap((result) => Effect.mapError(decodeKV(result), protocolError("getLoadConfig")))
    )

  /**
   * Handles are cheap to make (a list of 100 instances makes 100): their effects are built on
   * access, from the prototype.
   */
  class HandleImpl implements Api.ModelHandle<InstanceInfo, Config> {
    readonly _tag = domain.handleTag
    readonly identifier: string
    readonly modelKey: string
    constructor(readonly info: InstanceInfo) {
      this.identifier = info.identifier
      this.modelKey = info.modelKey
      Object.assign(this, domain.operations(contextOf(info)))
    }
    get unload() {
      return unloadIdentifier(this.identifier).pipe(handleSpan("handle.unload", this.info))
    }
    get getInfo() {
      return getInfoOf(this.info).pipe(handleSpan("handle.getInfo", this.info))
    }
    get getLoadConfig() {
      return loadConfigOf(this.info).pipe(
        Effect.map(domain.configFromKV),
        handleSpan("handle.getLoadConfig", this.info)
      )
    }
    get getContextLength() {
      return loadConfigOf(this.info).pipe(
        Effect.flatMap((kv) => {
          const value = kv.fields.find((field) => field.key === domain.contextLengthKey)?.value
          return typeof value === "number" ? Effect.succeed(value) : Effect.map(getInfoOf(this.info), (i) => i.contextLength)
        }),
        handleSpan("handle.getContextLength", this.info)
      )
    }
  }

  const contextOf = (info: InstanceInfo): HandleContext<InstanceInfo> => ({
    domain: domain.name,
    port,
    files,
    info,
    specifier: { type: "instanceReference", instanceReference: info.instanceReference },
    defaults: defaults.operations,
    gone: () =>
      new ModelNotFoundError({
        title: `The ${domain.noun} "${info.identifier}" has already been unloaded`,
        suggestion: `Get a fresh handle with client.${domain.name}.model(key) or loadNewInstance(key).`
      })
  })

  const handleFor = (info: InstanceInfo): Handle => new HandleImpl(info) as unknown as Handle

  // ------------------------------------------------------------------------------------------
  // Validation (before any I/O)
  // ------------------------------------------------------------------------------------------

  const prepare = (
    endpoint: "loadModel" | "getOrLoad",
    key: unknown,
    options: Api.LoadOptions<Config> | Api.ModelOptions<Config> | undefined
  ): Effect.Effect<LoadRequest, InvalidArgumentError> =>
    Effect.gen(function*() {
      const modelKey = yield* Validate.keyString("modelKey", key)
      const rawIdentifier = (options as { identifier?: unknown } | undefined)?.identifier
      if (endpoint === "getOrLoad" && rawIdentifier !== undefined) {
        return yield* new InvalidArgumentError({
          field: "identifier",
          reason: "is not allowed with model(key), which gets or loads by key; use loadNewInstance(key, " +
            "{ identifier }) to load an instance under a chosen identifier"
        })
      }
      const identifier = rawIdentifier === undefined ? undefined : yield* Validate.keyString("identifier", rawIdentifier)
      const ttlMs = yield* Validate.ttlMillis("ttl", options?.ttl ?? defaults.ttl)
      const config = options?.config === undefined ? undefined : yield* domain.validateConfig(options.config)
      const inactivity = options?.loadInactivityTimeout === undefined
        ? defaults.loadInactivityTimeout
        : yield* Validate.timeout("loadInactivityTimeout", options.loadInactivityTimeout)
      const loadConfigStack = apiOverrideStack(config === undefined ? [] : domain.configToFields(config))
      const creationParameter: Record<string, unknown> = endpoint === "loadModel"
        ? {
          modelKey,
          ...(identifier === undefined ? {} : { identifier }),
          ...(ttlMs === undefined ? {} : { ttlMs }),
          loadConfigStack
        }
        : { identifier: modelKey, ...(ttlMs === undefined ? {} : { loadTtlMs: ttlMs }), loadConfigStack }
      return { endpoint, modelKey, requestedIdentifier: identifier, creationParameter, inactivity }
    })

  // ------------------------------------------------------------------------------------------
  // The load stream
  // ------------------------------------------------------------------------------------------

  /**
   * After a load stopped before its handle was delivered: cancel it if the channel is still open,
   * let the channel end, and unload whatever the server loaded anyway (it may have finished just
   * before the cancel arrived).
   *
   * Known limit: if the server is slow to answer the cancel, another get-or-load may find that
   * late instance (`alreadyLoaded`) before this cleanup unloads it.
   */
  const cancelAndCleanUp = (
    channel: Channel & { readonly close: Effect.Effect<void> },
    serverLoaded: () => string | undefined
  ) =>
    Effect.gen(function*() {
      const wasOpen = channel.isOpen()
      if (wasOpen) yield* Effect.ignore(channel.send(CANCEL))
      const cleanUp = Effect.gen(function*() {
        // Keep the channel registered until the server ends it, so a late `success` is seen.
        if (wasOpen) {
          yield* Mailbox.toStream(channel.packets).pipe(Stream.runDrain, Effect.timeout(defaults.cancelGrace), Effect.ignore)
        }
        const identifier = serverLoaded()
        if (identifier !== undefined) yield* Effect.ignore(unloadReliably(identifier))
      }).pipe(Effect.ensuring(channel.close))
      // The cleanup outlives the caller (in the client's scope) so that a server that never
      // answers the cancel delays the caller by at most `cancelWait`.
      const fiber = yield* Effect.forkIn(Effect.interruptible(cleanUp), clientScope)
      yield* Effect.ignore(Effect.timeout(Effect.interruptible(Fiber.await(fiber)), defaults.cancelWait))
    }).pipe(withClientSpan(spanName("cancelLoad")))

  /**
   * Reads the packets of one load channel into load events. It remembers what it saw, so that
   * cleanup knows whether the server loaded something and whether the caller received it.
   */
  class LoadReader {
    lastProgress = -1
    /** A terminal packet was read. */
    terminal = false
    /** `Loaded` reached the caller: from then on the instance is the caller's. */
    delivered = false
    /** Set as soon as a "loaded by this call" packet arrives, whether or not it was read. */
    serverLoaded: string | undefined = undefined
    /** Fires when no packet arrived for the request's inactivity period (a plain, unref'd timer). */
    private timer: ReturnType<typeof setTimeout> | undefined = undefined
    /** When the last packet arrived (`performance.now()`); the timer re-arms until it is stale. */
    private lastActivity = 0

    /** `emitsProgress: false` when nobody consumes progress: no events are built for it. */
    constructor(readonly request: LoadRequest, readonly emitsProgress: boolean) {}

    readonly onPacket = (packet: unknown): void => {
      this.lastActivity = performance.now()
      if (isLoadedPacket(packet)) this.serverLoaded = packet.info.identifier
    }

    /** Starts the inactivity timer: once no packet came for the whole period, a marker joins the packets. */
    arm(channel: Channel): void {
      if (!Duration.isFinite(this.request.inactivity)) return
      const limit = Duration.toMillis(this.request.inactivity)
      this.lastActivity = performance.now()
      const check = () => {
        const idle = performance.now() - this.lastActivity
        if (idle >= limit) return channel.inject(TIMED_OUT)
        this.timer = setTimeout(check, limit - idle)
        this.timer.unref()
      }
      this.timer = setTimeout(check, limit)
      this.timer.unref()
    }

    disarm(): void {
      if (this.timer !== undefined) clearTimeout(this.timer)
    }

    /** The events of one packet (none for repeated progress), or why the load cannot go on. */
    read(raw: unknown): ReadonlyArray<Event<Handle, Info>> | ProtocolError | LoadTimeoutError {
      if (raw === TIMED_OUT) return this.timeout()
      // Progress packets are nearly all of a load's traffic: checked by hand, same rules as the schema.
      if (isProgressPacket(raw)) return this.progress(raw.progress)
      const decoded = decodePacket(raw)
      if (Either.isLeft(decoded)) return protocolError(this.request.endpoint)(decoded.left)
      const packet = decoded.right
      switch (packet.type) {
        case "resolved":
          return [{ _tag: "Resolved", info: packet.info, identifier: undefined, ambiguous: packet.ambiguous ?? [] }]
        case "startLoading":
          return [{ _tag: "Resolved", info: packet.info, identifier: packet.identifier, ambiguous: [] }]
        case "progress":
        case "loadProgress":
          return this.progress(packet.progress)
        case "unloadingOtherJITModel":
          return [{ _tag: "UnloadingOtherJitModel", info: packet.info }]
        case "success":
        case "loadSuccess":
        case "alreadyLoaded": {
          const byThisCall = packet.type !== "alreadyLoaded"
          this.terminal = true
          const loaded: Event<Handle, Info> = { _tag: "Loaded", handle: handleFor(packet.info), loadedByThisCall: byThisCall }
          if (!byThisCall || this.lastProgress >= 1 || !this.emitsProgress) return [loaded]
          this.lastProgress = 1
          return [{ _tag: "Progress", progress: 1 }, loaded]
        }
      }
    }

    private progress(value: number): ReadonlyArray<Event<Handle, Info>> {
      const progress = Math.min(1, Math.max(0, value))
      if (!(progress > this.lastProgress)) return NO_EVENTS // repeats and regressions are dropped
      this.lastProgress = progress
      return this.emitsProgress ? [{ _tag: "Progress", progress }] : NO_EVENTS
    }

    endedWithoutModel(): ProtocolError {
      return new ProtocolError({
        endpoint: this.request.endpoint,
        detail: "the load channel closed before the model was loaded"
      })
    }

    timeout(): LoadTimeoutError {
      return new LoadTimeoutError({
        modelKey: this.request.modelKey,
        inactivityMillis: Duration.toMillis(this.request.inactivity)
      })
    }
  }

  /**
   * Opens a load channel (closed with `closeLoad`) and arms its inactivity timer.
   */
  const openLoad = (request: LoadRequest, emitsProgress: boolean) => {
    const reader = new LoadReader(request, emitsProgress)
    return Effect.map(
      port.openChannelUnscoped(request.endpoint, request.creationParameter, {
        context: {
          endpoint: request.endpoint,
          ...(request.requestedIdentifier === undefined ? {} : { requestedIdentifier: request.requestedIdentifier })
        },
        onPacket: reader.onPacket
      }),
      (channel) => {
        reader.arm(channel)
        return { channel, reader }
      }
    )
  }

  /** Ends a load channel: unless the handle was delivered, cancel the load and undo it. */
  const closeLoad = ({ channel, reader }: Effect.Effect.Success<ReturnType<typeof openLoad>>) =>
    Effect.suspend(() => {
      reader.disarm()
      return reader.delivered ? channel.close : cancelAndCleanUp(channel, () => reader.serverLoaded)
    })

  /**
   * Opens the load channel and turns its packets into load events, ending with `Loaded`. If the
   * stream stops before `Loaded` reached the consumer, the load is cancelled and cleaned up.
   */
  const loadEvents = (request: LoadRequest): Stream.Stream<Event<Handle, Info>, LMStudioError> =>
    Stream.unwrapScoped(Effect.map(Effect.acquireRelease(openLoad(request, true), closeLoad), ({ channel, reader }) => {
      return Mailbox.toStream(channel.packets).pipe(
        Stream.mapChunksEffect((chunk) => {
          const events: Array<Event<Handle, Info>> = []
          for (const raw of chunk) {
            const read = reader.read(raw)
            if (!Array.isArray(read)) return Effect.fail(read as ProtocolError | LoadTimeoutError)
            events.push(...read)
          }
          return Effect.succeed(Chunk.unsafeFromArray(events))
        }),
        Stream.takeUntil((event) => event._tag === "Loaded"),
        Stream.concat(Stream.suspend(() => reader.terminal ? Stream.empty : Stream.fail(reader.endedWithoutModel()))),
        Stream.tap((event) =>
          event._tag === "Loaded"
            ? Effect.sync(() => {
              reader.delivered = true
            })
            : Effect.void
        )
      )
    }))

  /**
   * Runs a load for its handle, feeding progress to the callback: a plain loop over the
   * channel's packets, which keeps per-packet work small.
   */
  const runLoad = (
    request: LoadRequest,
    onProgress: ((progress: number) => Effect.Effect<void>) | undefined,
    onLoaded?: (event: LoadEvent.Loaded<Handle>) => void
  ): Effect.Effect<LoadEvent.Loaded<Handle>, LMStudioError> =>
    // Not Effect.scoped: a scope costs tens of microseconds, a mask a fraction of one. Connecting
    // is interruptible; opening the channel (one synchronous step once connected) is not, and from
    // the moment the channel exists, closing it is guaranteed.
    Effect.uninterruptibleMask((restore) =>
      Effect.flatMap(Effect.zipRight(restore(port.connect), openLoad(request, onProgress !== undefined)), (load) =>
        restore(Effect.gen(function*() {
          const { channel, reader } = load
          while (true) {
            const [chunk, done] = yield* channel.packets.takeAll
            for (const raw of chunk) {
              const events = reader.read(raw)
              if (!Array.isArray(events)) return yield* (events as ProtocolError | LoadTimeoutError)
              for (const event of events) {
                if (event._tag === "Progress") {
                  if (onProgress !== undefined) yield* onProgress(event.progress)
                } else if (event._tag === "Loaded") {
                  reader.delivered = true
                  onLoaded?.(event)
                  return event
                }
              }
            }
            if (done) return yield* reader.endedWithoutModel()
          }
        })).pipe(Effect.onExit(() => closeLoad(load))))
    )

  // ------------------------------------------------------------------------------------------
  // Get-or-load with single flight
  // ------------------------------------------------------------------------------------------

  const inFlight = new Map<string, SharedLoad<Handle>>()

  /**
   * Get-or-load of `request.modelKey`: the first caller runs the load in its own fiber (with its
   * own options); callers that come while it runs join it and share its outcome. If the first caller gives up, the load is cancelled (as any
   * interrupted load is) and the joiners start over.
   */
  const sharedGetOrLoad = (
    request: LoadRequest,
    onProgress: ((progress: number) => Effect.Effect<void>) | undefined,
    onLoaded?: (event: LoadEvent.Loaded<Handle>) => void
  ): Effect.Effect<{ loaded: LoadEvent.Loaded<Handle>; initiator: boolean }, LMStudioError> =>
    Effect.uninterruptibleMask((restore) => {
      const joined = inFlight.get(request.modelKey)
      if (joined !== undefined) {
        return restore(Effect.flatMap(awaitShared(joined, onProgress), (loaded) =>
          loaded === undefined
            ? sharedGetOrLoad(request, onProgress, onLoaded)
            : Effect.succeed({ loaded, initiator: false })))
      }
      // Registered and guarded in one uninterruptible step, so the entry is always completed.
      const entry: SharedLoad<Handle> = { result: Deferred.unsafeMake(FiberId.none), listeners: new Set() }
      inFlight.set(request.modelKey, entry)
      const report = (progress: number) => {
        for (const listener of entry.listeners) listener(progress)
        return onProgress === undefined ? Effect.void : onProgress(progress)
      }
      return restore(runLoad(request, report, onLoaded)).pipe(
        Effect.onExit((exit) =>
          Effect.sync(() => {
            if (inFlight.get(request.modelKey) === entry) inFlight.delete(request.modelKey)
            Deferred.unsafeDone(entry.result, Exit.isInterrupted(exit) ? Exit.succeed(undefined) : exit)
          })
        ),
        Effect.map((loaded) => ({ loaded, initiator: true }))
      )
    })

  /** Waits for a shared load, forwarding its progress to this caller's callback. */
  const awaitShared = (
    entry: SharedLoad<Handle>,
    onProgress: ((progress: number) => Effect.Effect<void>) | undefined
  ): Effect.Effect<LoadEvent.Loaded<Handle> | undefined, LMStudioError> => {
    if (onProgress === undefined) return Deferred.await(entry.result)
    return Effect.gen(function*() {
      const progress = yield* Mailbox.make<number>()
      const listener = (p: number) => progress.unsafeOffer(p)
      entry.listeners.add(listener)
      let last = -1
      const forward = Effect.gen(function*() {
        while (true) {
          const [chunk, done] = yield* progress.takeAll
          for (const p of chunk) {
            last = p
            yield* onProgress(p)
          }
          if (done) return
        }
      })
      const forwarding = yield* Effect.fork(forward)
      const exit = yield* Effect.exit(Deferred.await(entry.result)).pipe(
        Effect.ensuring(Effect.sync(() => entry.listeners.delete(listener)))
      )
      yield* progress.end
      yield* Fiber.join(forwarding)
      if (Exit.isSuccess(exit) && exit.value?.loadedByThisCall === true && last < 1) yield* onProgress(1)
      return yield* exit
    })
  }

  // ------------------------------------------------------------------------------------------
  // The namespace
  // ------------------------------------------------------------------------------------------

  /** A traced public operation: `LMStudio.<domain>.<method>`, a client span. */
  /** A public operation: `body` in a `LMStudio.<domain>.<method>` client span. */
  const traced = <Args extends Array<any>, A, E, R>(method: string, body: (...args: Args) => Effect.Effect<A, E, R>) => {
    const span = withClientSpan(spanName(method))
    return (...args: Args): Effect.Effect<A, E, R> => span(body(...args))
  }
  const identifierOf = (handle: Handle) => (handle as { readonly identifier: string }).identifier
  const annotateKey = (key: unknown) => annotate("lmstudio.model_key", String(key))
  const annotateHandle = (handle: Handle) => annotate("lmstudio.identifier", identifierOf(handle))

  const anyModel = traced("model", Effect.fnUntraced(function*() {
    const result = yield* port.call("getModelInfo", { specifier: { type: "query", query: {} }, throwIfNotFound: true })
      .pipe(
        Effect.mapError((error) =>
          error._tag === "ModelNotFoundError"
            ? new ModelNotFoundError({
              title: `No ${domain.noun} is loaded`,
              suggestion: `Load one with client.${domain.name}.model("<model key>") (or loadNewInstance), or ` +
                "load it in LM Studio; list what is downloaded with client.system.listDownloadedModels().",
              ...(error.cause === undefined ? {} : { cause: error.cause })
            })
            : error
        )
      )
    const handle = handleFor(yield* Effect.mapError(decodeInstance(result), protocolError("getModelInfo")))
    yield* annotateHandle(handle)
    return handle
  }))

  const getOrLoad = traced(
    "model",
    Effect.fnUntraced(function*(key: string, options?: Api.ModelOptions<Config>) {
      yield* annotateKey(key)
      const request = yield* prepare("getOrLoad", key, options)
      const { loaded } = yield* sharedGetOrLoad(request, options?.onProgress)
      yield* annotateHandle(loaded.handle)
      return loaded.handle
    })
  )

  const model = ((key?: string, options?: Api.ModelOptions<Config>) =>
    key === undefined && options === undefined ? anyModel() : getOrLoad(key as string, options)) as Api.ModelNamespace<
      Handle,
      Info,
      InstanceInfo,
      Config
    >["model"]

  // ------------------------------------------------------------------------------------------
  // Instances owned by scopes: unloaded by their scope, or by the client's scope if it closes first
  // ------------------------------------------------------------------------------------------

  /** Instances that scopes own: identifier → instance reference. */
  const owned = new Map<string, string>()

  const own = (handle: Handle) => {
    const { identifier, info } = handle as unknown as { readonly identifier: string; readonly info: InstanceInfo }
    owned.set(identifier, info.instanceReference)
    return identifier
  }

  /**
   * Unloads an owned instance once, in bounded time. Only if it is still the same instance: an
   * instance that idled out (TTL) may have had its identifier reused by someone else's load.
   */
  const releaseOwned = (identifier: string) =>
    Effect.suspend(() => {
      const instanceReference = owned.get(identifier)
      if (instanceReference === undefined) return Effect.void
      owned.delete(identifier)
      return port.call("getModelInfo", {
        specifier: { type: "instanceReference", instanceReference },
        throwIfNotFound: false
      }).pipe(
        Effect.flatMap((info) => info === undefined ? Effect.void : unloadIdentifier(identifier)),
        retryOnFreshConnection,
        Effect.timeout(defaults.releaseTimeout),
        Effect.ignore
      )
    })

  /**
   * Unload for cleanup paths: a socket that just dropped may not have been noticed yet, so a
   * connection failure is retried (on a fresh connection) a few times.
   */
  const retryOnFreshConnection = <A>(effect: Effect.Effect<A, LMStudioError>) =>
    Effect.retry(effect, {
      times: 3,
      schedule: Schedule.exponential("20 millis"),
      while: (error) => error._tag === "ConnectionError" && error.reason === "Closed"
    })
  const unloadReliably = (identifier: string) => retryOnFreshConnection(unloadIdentifier(identifier))

  /** Unloads every instance still owned by an open scope (the client is closing). */
  const releaseAllOwned = Effect.suspend(() =>
    Effect.forEach([...owned.keys()], releaseOwned, { concurrency: "unbounded", discard: true })
  )

  const modelScoped = traced(
    "modelScoped",
    Effect.fnUntraced(function*(key: string, options?: Api.ModelOptions<Config>) {
      yield* annotateKey(key)
      const request = yield* prepare("getOrLoad", key, options)
      // Finalizer first: if this call turns out to be the one that loaded the model, it is unloaded.
      // Ownership is recorded in the same synchronous step that delivers the handle.
      let loadedHere: string | undefined
      yield* Effect.addFinalizer(() => loadedHere === undefined ? Effect.void : releaseOwned(loadedHere))
      const { loaded } = yield* sharedGetOrLoad(request, options?.onProgress, (event) => {
        if (event.loadedByThisCall) loadedHere = own(event.handle)
      })
      yield* annotateHandle(loaded.handle)
      return loaded.handle
    })
  )

  const modelStream: Api.ModelNamespace<Handle, Info, InstanceInfo, Config>["modelStream"] = (key, options) =>
    Stream.unwrap(Effect.map(prepare("getOrLoad", key, options), loadEvents))

  const loadNewInstance = traced(
    "loadNewInstance",
    Effect.fnUntraced(function*(key: string, options?: Api.LoadOptions<Config>) {
      yield* annotateKey(key)
      const request = yield* prepare("loadModel", key, options)
      const { handle } = yield* runLoad(request, options?.onProgress)
      yield* annotateHandle(handle)
      return handle
    })
  )

  const loadNewInstanceScoped = traced(
    "loadNewInstanceScoped",
    Effect.fnUntraced(function*(key: string, options?: Api.LoadOptions<Config>) {
      yield* annotateKey(key)
      const request = yield* prepare("loadModel", key, options)
      // Finalizer first: whatever happens after this point, a delivered instance is unloaded.
      let identifier: string | undefined
      yield* Effect.addFinalizer(() => identifier === undefined ? Effect.void : releaseOwned(identifier))
      const { handle } = yield* runLoad(request, options?.onProgress, (event) => {
        identifier = own(event.handle)
      })
      yield* annotateHandle(handle)
      return handle
    })
  )

  const loadNewInstanceStream: Api.ModelNamespace<Handle, Info, InstanceInfo, Config>["loadNewInstanceStream"] = (
    key,
    options
  ) => Stream.unwrap(Effect.map(prepare("loadModel", key, options), loadEvents))

  const unload = traced("unload", Effect.fnUntraced(function*(identifier: string) {
    yield* annotate("lmstudio.identifier", String(identifier))
    yield* unloadIdentifier(yield* Validate.keyString("identifier", identifier))
  }))

  const listLoaded = traced("listLoaded", Effect.fnUntraced(function*() {
    const result = yield* port.call("listLoaded")
    const infos = yield* Effect.mapError(decodeInstances(result), protocolError("listLoaded"))
    return infos.map(handleFor)
  }))

  const toQuery = (query: string | ModelQuery | undefined): Effect.Effect<ModelQuery, InvalidArgumentError> =>
    query === undefined
      ? Effect.succeed({})
      : typeof query === "string"
      ? Effect.map(Validate.keyString("query", query), (identifier) => ({ identifier }))
      // LM Studio answers an invalid query with only a warning, so the call would never return.
      : Effect.mapError(decodeQuery(query), (error) =>
        new InvalidArgumentError({ field: "query", reason: ParseResult.TreeFormatter.formatErrorSync(error) }))

  const getModelInfo = traced("getModelInfo", Effect.fnUntraced(function*(query?: string | ModelQuery) {
    const q = yield* toQuery(query)
    const result = yield* port.call("getModelInfo", { specifier: { type: "query", query: q }, throwIfNotFound: true })
    return yield* Effect.mapError(decodeInstance(result), protocolError("getModelInfo"))
  }))

  const listDownloaded = traced("listDownloaded", Effect.fnUntraced(function*() {
    const models = (yield* listDownloadedModels).filter(domain.isInfo)
    return yield* Effect.mapError(decodeInfos(models), protocolError("listDownloadedModels"))
  }))

  const namespace: Api.ModelNamespace<Handle, Info, InstanceInfo, Config> = {
    model,
    modelScoped,
    modelStream,
    loadNewInstance,
    loadNewInstanceScoped,
    loadNewInstanceStream,
    unload,
    listLoaded,
    getModelInfo,
    listDownloaded
  }
  return { namespace, releaseAllOwned }
}
