/**
 * The shape shared by `client.llm` and `client.embedding`: access, get-or-load, load new
 * instances, unload, list and inspect models of one domain.
 *
 * @since 0.1.0
 */
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"
import type { LMStudioError } from "./LMStudioError.js"
import type { LoadEvent } from "./LoadEvent.js"
import type { ModelQuery } from "./ModelInfo.js"

/**
 * A handle to one loaded instance. Handles are plain values: holding one keeps nothing alive.
 *
 * @since 0.1.0
 * @category models
 */
export interface ModelHandle<InstanceInfo, Config> {
  /** The instance's unique identifier on the server (e.g. `llama-3.2-1b-instruct:2`). */
  readonly identifier: string
  /** The model key of the downloaded model it runs. */
  readonly modelKey: string
  /** What the server reported when this handle was made. */
  readonly info: InstanceInfo
  /**
   * Unloads this instance, never another one that reused its identifier: fails with
   * `ModelNotFoundError` if it is already gone. (LM Studio unloads by identifier, so the instance
   * is looked up first; only if, in the one round trip between, it is unloaded by someone else and
   * a new one loaded under the same identifier, is that new one unloaded.)
   */
  readonly unload: Effect.Effect<void, LMStudioError>
  /** Fresh instance info; `ModelNotFoundError` if the instance was unloaded. */
  readonly getInfo: Effect.Effect<InstanceInfo, LMStudioError>
  /** The load config the instance actually runs with, in the same typed shape used to load. */
  readonly getLoadConfig: Effect.Effect<Config, LMStudioError>
  /** The context length the instance was loaded with, in tokens. */
  readonly getContextLength: Effect.Effect<number, LMStudioError>
}

/**
 * An idle time-to-live: a `Duration` or a string with its unit (`"1 hour"`, `"30 minutes"`). A bare
 * number is refused, at compile time and at run time: LM Studio's official SDKs read `ttl: 3600`
 * as seconds and Effect reads it as milliseconds (3.6 s), so write the unit.
 *
 * @since 0.1.0
 * @category models
 */
export type TtlInput = Exclude<Duration.DurationInput, number>

declare const NotAllowedBrand: unique symbol

/**
 * A type no value has, whose name carries the reason: the compiler prints the message when a
 * value is given where it appears.
 *
 * @since 0.1.0
 * @category models
 */
export type NotAllowed<Message extends string> = Message & { readonly [NotAllowedBrand]: never }

/**
 * Options of get-or-load (`model(key, options)`). TTL and config apply only if this call loads.
 *
 * @since 0.1.0
 * @category models
 */
export interface ModelOptions<Config> {
  /** Unload after this much idle time (`"1 hour"`, `Duration.hours(1)`). Applies only when this call loads the model. */
  readonly ttl?: TtlInput | undefined
  /** Load settings, validated before anything is sent. Applies only when this call loads. */
  readonly config?: Config | undefined
  /**
   * Called with each progress fraction in [0, 1], ending at 1. A callback slower than the server
   * does not slow the load: it is called with the latest fraction when it is ready again.
   */
  readonly onProgress?: ((progress: number) => Effect.Effect<void>) | undefined
  /** Fail with `LoadTimeoutError` (and cancel) when no progress arrives for this long. */
  readonly loadInactivityTimeout?: Duration.DurationInput | undefined
  /**
   * Not allowed: `model(key)` gets or loads by key. Use `loadNewInstance` to choose an identifier.
   */
  readonly identifier?: NotAllowed<"model(key) takes no identifier: use loadNewInstance(key, { identifier }) to choose one">
}

/**
 * Options of `loadNewInstance`.
 *
 * @since 0.1.0
 * @category models
 */
export interface LoadOptions<Config> {
  /** The new instance's identifier; must be unused. Default: assigned by LM Studio. */
  readonly identifier?: string | undefined
  /** Unload after this much idle time (`"1 hour"`, `Duration.hours(1)`). Default: the client's `defaultTtl`, else none. */
  readonly ttl?: TtlInput | undefined
  /** Load settings, validated before anything is sent. */
  readonly config?: Config | undefined
  /**
   * Called with each progress fraction in [0, 1], ending at 1. A callback slower than the server
   * does not slow the load: it is called with the latest fraction when it is ready again.
   */
  readonly onProgress?: ((progress: number) => Effect.Effect<void>) | undefined
  /** Fail with `LoadTimeoutError` (and cancel) when no progress arrives for this long. */
  readonly loadInactivityTimeout?: Duration.DurationInput | undefined
}

/**
 * Model management for one domain.
 *
 * @since 0.1.0
 * @category models
 */
export interface ModelNamespace<Handle, Info, InstanceInfo, Config> {
  /**
   * Without a key: any loaded model of this domain (`ModelNotFoundError` when none is loaded).
   * With a key: the loaded instance of that model, loading it if needed (get-or-load).
   * Concurrent calls for the same key share one load, made with the first caller's options. The
   * load belongs to all of them: each caller's `onProgress` runs in its own fiber and affects only
   * that caller, a caller that gives up never fails or unloads what the others receive, and the
   * load is cancelled only when every caller gave up.
   */
  readonly model: {
    (): Effect.Effect<Handle, LMStudioError>
    (key: string, options?: ModelOptions<Config>): Effect.Effect<Handle, LMStudioError>
  }
  /**
   * Get-or-load; if this call loaded the model, it is unloaded when the scope closes. When
   * concurrent `modelScoped` calls share one load, they own the instance together: it is unloaded
   * when the last of their scopes closes. A scope only ever unloads the instance it loaded, never
   * a later one that reuses its identifier.
   */
  readonly modelScoped: (
    key: string,
    options?: ModelOptions<Config>
  ) => Effect.Effect<Handle, LMStudioError, Scope.Scope>
  /** Get-or-load as a stream of load events ending with `Loaded`. Stopping early cancels the load. */
  readonly modelStream: (
    key: string,
    options?: Omit<ModelOptions<Config>, "onProgress">
  ) => Stream.Stream<LoadEvent<Handle, Info>, LMStudioError>
  /** Always loads a new instance. */
  readonly loadNewInstance: (key: string, options?: LoadOptions<Config>) => Effect.Effect<Handle, LMStudioError>
  /** Loads a new instance that is unloaded when the scope closes (success, failure or interruption). */
  readonly loadNewInstanceScoped: (
    key: string,
    options?: LoadOptions<Config>
  ) => Effect.Effect<Handle, LMStudioError, Scope.Scope>
  /** Loads a new instance as a stream of load events ending with `Loaded`. Stopping early cancels. */
  readonly loadNewInstanceStream: (
    key: string,
    options?: Omit<LoadOptions<Config>, "onProgress">
  ) => Stream.Stream<LoadEvent<Handle, Info>, LMStudioError>
  /** Unloads the instance with this identifier (`ModelNotFoundError` if there is none). */
  readonly unload: (identifier: string) => Effect.Effect<void, LMStudioError>
  /** Handles to every loaded instance of this domain, in load order. */
  readonly listLoaded: () => Effect.Effect<ReadonlyArray<Handle>, LMStudioError>
  /**
   * Info of the first loaded instance matching the query (an identifier string, or a query);
   * `ModelNotFoundError` when none matches.
   */
  readonly getModelInfo: (query?: string | ModelQuery) => Effect.Effect<InstanceInfo, LMStudioError>
  /** Downloaded models of this domain. */
  readonly listDownloaded: () => Effect.Effect<ReadonlyArray<Info>, LMStudioError>
}
