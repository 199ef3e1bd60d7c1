/**
 * A protocol-faithful LM Studio for tests, demos and CI: a real HTTP + WebSocket server on
 * loopback that behaves like LM Studio's model-management and inference API, with fault injection
 * and a log of every frame.
 *
 * Predictions are deterministic: the same chat, config and model always stream the same
 * fragments, one token each.
 *
 * Time comes from Effect's `Clock`: load pacing, token pacing and idle-TTL expiry are
 * `Effect.sleep`s, so tests running on `TestClock` drive them with `TestClock.adjust`.
 *
 * (Past 400 lines on purpose: this is the public surface — options, service and fault types with
 * their doc comments; the behaviour lives in `internal/`.)
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as FiberMap from "effect/FiberMap"
import * as FiberSet from "effect/FiberSet"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { apiOverrideStack } from "../internal/protocol/kvConfig.js"
import type { LMStudioError } from "../LMStudioError.js"
import * as LMStudioClientModule from "../LMStudioClient.js"
import type { ModelInfo, ModelInstanceInfo } from "../ModelInfo.js"
import type { CatalogModel } from "./catalog.js"
import { handleConnection, sendFrame } from "./internal/connection.js"
import { instanceInfo, resolveAmong } from "./internal/models.js"
import { resolveOptions, splitApiToken } from "./internal/options.js"
import { makeListener } from "./internal/server.js"
import { SimulatorError } from "./internal/simulatorError.js"
import {
  commitInstance,
  releaseIdentifier,
  reserveIdentifier,
  type Sim,
  SimState,
  unloadInstance
} from "./internal/state.js"
// From trafficLog.ts, not state.ts: state.ts mentions `ws` types, which users do not have (@types/ws).
import type { TrafficEntry as TrafficEntry_ } from "./internal/trafficLog.js"
import { TrafficLog } from "./internal/trafficLog.js"

export {
  /**
   * A simulator could not be started (its port is taken, say) or a test-setup call on it (such
   * as `preload`) could not be carried out.
   *
   * @since 0.1.0
   * @category errors
   */
  SimulatorError
} from "./internal/simulatorError.js"

/**
 * One frame received (`"in"`) or sent (`"out"`) by the simulator, including authentication
 * frames (whose passkey is logged as `<redacted>`). `connection` numbers sockets from 1 in the
 * order they connected; `frame` is the parsed JSON, or the raw text when the frame is not JSON.
 *
 * @since 0.1.0
 * @category models
 */
export type TrafficEntry = TrafficEntry_

/**
 * How to build a simulator.
 *
 * @since 0.1.0
 * @category models
 */
export interface SimulatorOptions {
  /** Port to listen on; `0` (the default) picks a free one. */
  readonly port?: number | undefined
  /** Interface to listen on (default `"127.0.0.1"`). */
  readonly host?: string | undefined
  /** Downloaded models (default {@link defaultCatalog}). */
  readonly catalog?: ReadonlyArray<CatalogModel> | undefined
  /**
   * An LM Studio API token (`sk-lm-<8 alphanumerics>:<20 alphanumerics>`). When
   * set, only the token's identifier/passkey pair is accepted.
   */
  readonly apiToken?: string | Redacted.Redacted<string> | undefined
  /** How long one load takes, in milliseconds (default 200). `0` loads without any sleep. */
  readonly loadMs?: number | undefined
  /** How many progress packets one load sends (default 10). */
  readonly progressSteps?: number | undefined
  /** Whether a JIT load evicts the other JIT instances, as LM Studio does by default (default true). */
  readonly jitAutoEvict?: boolean | undefined
  /** What the `system` `version` endpoint reports. */
  readonly version?: { readonly version: string; readonly build: number } | undefined
  /**
   * Milliseconds per generated token (default 5). `0` streams without sleeping; even then the
   * first packet of a prediction never leaves in the same tick its request is read, so a cancel
   * sent right behind the request always counts.
   */
  readonly tokenMs?: number | undefined
  /** Prediction presets a request can name with `preset` (default none). */
  readonly presets?: ReadonlyArray<Preset> | undefined
  /**
   * How many frames the traffic log keeps (default 10,000): the oldest are dropped first, so a
   * long-running simulator stays bounded. `0` keeps none (and skips the logging work).
   */
  readonly trafficLogSize?: number | undefined
  /** Called with every frame in and out as it passes (e.g. to print it), whatever `trafficLogSize` is. */
  readonly onTraffic?: ((entry: TrafficEntry) => void) | undefined
}

/**
 * One config field as LM Studio sends it: a full KV key and its wire value.
 *
 * @since 0.2.0
 * @category models
 */
export interface ConfigField {
  readonly key: string
  readonly value?: unknown
}

/**
 * A prediction preset: its fields sit under the request's own (the request wins). A request
 * names it by identifier, or case-insensitively by identifier or name, or by the last segment of
 * its identifier.
 *
 * @since 0.1.0
 * @category models
 */
export interface Preset {
  /** For example `"@local:terse"`. */
  readonly identifier: string
  readonly name: string
  /** Prediction config fields, e.g. `{ key: "llm.prediction.maxPredictedTokens", value: { checked: true, value: 5 } }`. */
  readonly fields: ReadonlyArray<ConfigField>
}

/**
 * Options of {@link LMStudioSimulator.Service.preload}.
 *
 * @since 0.1.0
 * @category models
 */
export interface PreloadOptions {
  /** Instance identifier (default: the model key, then `key:2`, …). */
  readonly identifier?: string | undefined
  /** Idle TTL in milliseconds (default: none). */
  readonly ttlMs?: number | undefined
  /** Load it as a JIT instance, subject to auto-evict (default false). */
  readonly jit?: boolean | undefined
  /** Extra load-config fields, e.g. `{ key: "llm.load.contextLength", value: 8192 }`. */
  readonly config?: ReadonlyArray<ConfigField> | undefined
}

/**
 * The error a scripted load failure ends with (a `SerializedLMSExtendedError`).
 *
 * @since 0.1.0
 * @category models
 */
export interface LoadFailure {
  readonly title: string
  readonly cause?: string | undefined
  readonly suggestion?: string | undefined
  /** Must carry a `code`, e.g. `{ code: "generic.pathNotFound", … }`. */
  readonly displayData?: Readonly<Record<string, unknown>> | undefined
}

/**
 * Fault injection. Each one-shot fault applies to the next operation it concerns.
 *
 * @since 0.1.0
 * @category models
 */
export interface Faults {
  /**
   * The next load (loadModel or getOrLoad, any namespace) terminates its socket (`ws.terminate()`,
   * no close frame) after `n` progress packets (`0`: right after `resolved`/`startLoading`; more
   * than `progressSteps`: after the last one). Nothing is left loaded.
   */
  readonly dropAfterProgress: (n: number) => Effect.Effect<void>
  /** Sends `text` verbatim (e.g. malformed JSON) to every authenticated connection of `namespace`. */
  readonly sendRaw: (namespace: string, text: string) => Effect.Effect<void>
  /** Delays every reply (RPC results/errors, channel packets, closes) by `ms`; `null` stops. */
  readonly delayReplies: (ms: number | null) => Effect.Effect<void>
  /**
   * The next load that starts (loadModel, or getOrLoad that does not find an instance) ends with
   * `channelError` carrying this error, right after `resolved`/`startLoading`. `rootTitle` is set
   * to `title`.
   */
  readonly failNextLoad: (error: LoadFailure) => Effect.Effect<void>
  /** Refuses every authentication with this reason until called with `null`. */
  readonly refuseAuth: (reason: string | null) => Effect.Effect<void>
  /** Closes every authenticated socket and refuses the token (or every client) from then on. */
  readonly revokeToken: Effect.Effect<void>
  /**
   * From now on, never answers calls or channels to `endpoint`; calls accumulate, so several
   * endpoints can hang at once. `hang("keepAlive")` stops answering `keepAlive`. `hang(null)`
   * answers everything again (what is already pending stays unanswered).
   */
  readonly hang: (endpoint: string | null) => Effect.Effect<void>
  /** Terminates every socket abruptly; the server keeps listening. */
  readonly dropConnections: Effect.Effect<void>
  /**
   * The next prediction (`predict` or `completeRawText`) stops sending after `n` fragments (after
   * prompt processing for `0`; after the last fragment if it has fewer). It still answers a
   * `cancel` with `userStopped`, and ends with `modelUnloaded` if its instance is unloaded.
   */
  readonly stallPredictionAfter: (n: number) => Effect.Effect<void>
  /** The next prediction ends after `n` fragments with `success` whose `stopReason` is `"failed"`. */
  readonly failPredictionAfter: (n: number) => Effect.Effect<void>
  /** The next prediction terminates its socket (no close frame) after `n` fragments. */
  readonly dropPredictionAfter: (n: number) => Effect.Effect<void>
  /**
   * The next prediction sends one packet of a type no client knows (`simulatorUnknownPacket`)
   * after `n` fragments, then carries on normally.
   */
  readonly unknownPredictionPacketAfter: (n: number) => Effect.Effect<void>
}

/**
 * The simulator service.
 *
 * @since 0.1.0
 * @category tags
 */
export class LMStudioSimulator extends Context.Tag("lmstudio-effect/testing/LMStudioSimulator")<
  LMStudioSimulator,
  LMStudioSimulator.Service
>() {}

/**
 * @since 0.1.0
 * @category models
 */
export declare namespace LMStudioSimulator {
  /**
   * @since 0.1.0
   * @category models
   */
  export interface Service {
    /** `ws://host:port`, the `baseUrl` for clients. */
    readonly url: string
    /** `http://host:port` (serves `/lmstudio-greeting`). */
    readonly httpUrl: string
    readonly host: string
    readonly port: number
    /** The downloaded models, as `listDownloadedModels` reports them. */
    readonly catalog: ReadonlyArray<ModelInfo>
    /** Every loaded instance, all namespaces, in load order. */
    readonly loaded: Effect.Effect<ReadonlyArray<ModelInstanceInfo>>
    /**
     * The loaded instances now and after every change (load, unload, idle-TTL expiry); a reader
     * that falls behind sees the latest set.
     */
    readonly loadedChanges: Stream.Stream<ReadonlyArray<ModelInstanceInfo>>
    /** The frames in and out so far, oldest first (the last `trafficLogSize` of them). */
    readonly traffic: Effect.Effect<ReadonlyArray<TrafficEntry>>
    readonly clearTraffic: Effect.Effect<void>
    /** Loads a model instantly, without a client (test setup). */
    readonly preload: (modelKey: string, options?: PreloadOptions) => Effect.Effect<ModelInstanceInfo, SimulatorError>
    readonly unloadAll: Effect.Effect<void>
    /** Open WebSocket connections. */
    readonly connectionCount: Effect.Effect<number>
    /**
     * Predictions generating right now, all sockets. `0` once every prediction has ended (with
     * `success`, or because its socket closed): what a test checks to know nothing is left running.
     */
    readonly activePredictions: Effect.Effect<number>
    readonly faults: Faults
    /** Terminates every socket and stops listening (pending calls stay pending on the client until it sees the drop). */
    readonly stop: Effect.Effect<void>
    /** Listens again on the same port after {@link stop}; fails if the port was taken meanwhile. */
    readonly start: Effect.Effect<void, SimulatorError>
  }
}


/**
 * Splits an LM Studio API token into its identifier and passkey, or `undefined`
 * if it is malformed.
 *
 * @since 0.1.0
 * @category utils
 */
export const parseApiToken = (
  token: string
): { readonly identifier: string; readonly passkey: string } | undefined => splitApiToken(token)

/**
 * Starts a simulator listening on loopback; closing the scope terminates every socket, closes
 * the server and stops every timer. Fails with a `SimulatorError` (reason `"ListenFailed"`) when
 * the port cannot be listened on.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: SimulatorOptions = {}
): Effect.Effect<LMStudioSimulator.Service, SimulatorError, Scope.Scope> =>
  Effect.gen(function*() {
    const resolved = yield* resolveOptions(options)
    const timers = yield* FiberMap.make<string>()
    const state = new SimState(new TrafficLog(resolved.trafficLogSize, options.onTraffic))
    const sim: Sim = { options: resolved, state, timers }
    const connections = yield* FiberSet.make()
    const run = yield* FiberSet.runtime(connections)()
    const listener = yield* makeListener(sim, (ws, namespace) => {
      run(handleConnection(sim, ws, namespace))
    })
    const host = resolved.host
    const port = listener.port
    const hostForUrl = host.includes(":") ? `[${host}]` : host

    const sockets = Effect.sync(() => [...sim.state.connections.values()])

    const preload = (modelKey: string, opts: PreloadOptions = {}) =>
      Effect.gen(function*() {
        const matches = resolveAmong(modelKey, resolved.catalog)
        const [model] = matches
        if (model === undefined || matches.length > 1) {
          const keys = (matches.length > 1 ? matches : resolved.catalog).map((m) => m.modelKey).join(", ")
          return yield* new SimulatorError({
            reason: "ModelNotFound",
            message: model === undefined
              ? `No model in the catalog matches "${modelKey}"; model keys: ${keys}`
              : `"${modelKey}" matches several models (${keys}); use one of these model keys`
          })
        }
        const identifier = yield* reserveIdentifier(sim, opts.identifier, model.modelKey).pipe(
          Effect.mapError(({ error }) => new SimulatorError({ reason: "IdentifierTaken", message: error.title }))
        )
        const record = yield* commitInstance(sim, {
          model,
          identifier,
          ttlMs: opts.ttlMs ?? null,
          jit: opts.jit ?? false,
          loadConfigStack: apiOverrideStack(opts.config ?? [])
        }).pipe(Effect.ensuring(releaseIdentifier(sim, identifier)))
        return instanceInfo(record)
      })

    const count = (n: number) => Math.max(0, Math.floor(n))
    const setFault = (update: (faults: SimState["faults"]) => void) => Effect.sync(() => update(sim.state.faults))

    const faults: Faults = {
      dropAfterProgress: (n) => setFault((f) => void (f.dropAfterProgress = Math.max(0, Math.floor(n)))),
      sendRaw: (namespace, text) =>
        Effect.flatMap(sockets, (entries) =>
          // Only to authenticated sockets: before its auth reply a client reads any frame as that reply.
          Effect.forEach(entries.filter((e) => e.namespace === namespace && e.authenticated), (e) => sendFrame(sim, e, text), {
            discard: true
          })),
      delayReplies: (ms) => setFault((f) => void (f.delayMs = ms)),
      failNextLoad: (error) =>
        setFault((f) =>
          void (f.failNextLoad = {
            title: error.title,
            rootTitle: error.title,
            ...(error.cause !== undefined ? { cause: error.cause } : {}),
            ...(error.suggestion !== undefined ? { suggestion: error.suggestion } : {}),
            ...(error.displayData !== undefined ? { displayData: { ...error.displayData } } : {})
          })
        ),
      refuseAuth: (reason) => setFault((f) => void (f.refuseAuth = reason)),
      revokeToken: Effect.flatMap(sockets, (entries) =>
        Effect.sync(() => {
          sim.state.faults.revoked = true
          for (const entry of entries) {
            if (entry.authenticated) entry.ws.close(1008, "API token revoked") // [inferred] close code
          }
        })),
      hang: (endpoint) => setFault((f) => endpoint === null ? f.hung.clear() : void f.hung.add(endpoint)),
      dropConnections: Effect.flatMap(sockets, (entries) =>
        Effect.sync(() => {
          for (const entry of entries) entry.ws.terminate()
        })),
      stallPredictionAfter: (n) => setFault((f) => void (f.predictionFault = { kind: "stall", afterFragments: count(n) })),
      failPredictionAfter: (n) => setFault((f) => void (f.predictionFault = { kind: "fail", afterFragments: count(n) })),
      dropPredictionAfter: (n) => setFault((f) => void (f.predictionFault = { kind: "drop", afterFragments: count(n) })),
      unknownPredictionPacketAfter: (n) => setFault((f) => void (f.unknownPacketAfter = count(n)))
    }

    const service: LMStudioSimulator.Service = {
      url: `ws://${hostForUrl}:${port}`,
      httpUrl: `http://${hostForUrl}:${port}`,
      host,
      port,
      catalog: resolved.catalog,
      loaded: Effect.sync(() => sim.state.instances.map(instanceInfo)),
      loadedChanges: Stream.asyncPush<ReadonlyArray<ModelInstanceInfo>>((emit) =>
        Effect.acquireRelease(
          Effect.sync(() => {
            const listener = () => emit.single(sim.state.instances.map(instanceInfo))
            sim.state.loadedListeners.add(listener)
            listener()
            return listener
          }),
          (listener) => Effect.sync(() => sim.state.loadedListeners.delete(listener))
        ), { bufferSize: 1, strategy: "sliding" }),
      traffic: Effect.sync(() => sim.state.traffic.entries()),
      clearTraffic: Effect.sync(() => sim.state.traffic.clear()),
      preload,
      unloadAll: Effect.flatMap(
        Effect.sync(() => [...sim.state.instances]),
        (records) => Effect.forEach(records, (record) => unloadInstance(sim, record), { discard: true })
      ),
      connectionCount: Effect.sync(() => sim.state.connections.size),
      activePredictions: Effect.sync(() => sim.state.activePredictions),
      faults,
      stop: listener.stop,
      start: listener.start
    }
    return service
  })

/**
 * A layer providing a simulator for the lifetime of the layer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options?: SimulatorOptions): Layer.Layer<LMStudioSimulator, SimulatorError> =>
  Layer.scoped(LMStudioSimulator, make(options))

/**
 * A simulator and an `LMStudioClient` pointed at it, for tests of programs that need the client:
 *
 * ```ts
 * const TestLive = LMStudioSimulator.layerClient({ loadMs: 0 })
 * it.layer(TestLive)("my app", (it) => { ... })
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerClient = (
  options?: SimulatorOptions,
  clientOptions?: Omit<LMStudioClientModule.Options, "baseUrl">
): Layer.Layer<LMStudioSimulator | LMStudioClientModule.LMStudioClient, LMStudioError | SimulatorError> =>
  Layer.unwrapEffect(
    Effect.map(LMStudioSimulator, (simulator) => LMStudioClientModule.layer({ ...clientOptions, baseUrl: simulator.url }))
  ).pipe(Layer.provideMerge(layer(options)))
