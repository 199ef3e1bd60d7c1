/**
 * The `LMStudioClient` service: one client per LM Studio server, with `llm`, `embedding` and
 * `system` namespaces. Build it with `LMStudioClient.layer(options)` (or `layerConfig`); its
 * sockets close when the layer's scope closes.
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Embedding from "./Embedding.js"
import type * as Files from "./Files.js"
import * as Credentials from "./internal/credentials.js"
import * as Domains from "./internal/domains.js"
import * as FilesNamespace from "./internal/inference/files.js"
import { validateBaseUrl } from "./internal/baseUrl.js"
import { DEFAULT_DISCOVERY_PORTS, discover } from "./internal/discovery.js"
import * as ModelNamespace from "./internal/models/namespace.js"
import * as Port from "./internal/port.js"
import { withClientSpan } from "./internal/tracing.js"
import * as Validate from "./internal/validate.js"
import { InvalidArgumentError, type LMStudioError, ProtocolError } from "./LMStudioError.js"
import * as Llm from "./Llm.js"
import { ModelInfo, ServerVersion } from "./ModelInfo.js"
import type { TtlInput } from "./ModelNamespace.js"

/**
 * Options of `LMStudioClient.make` / `layer`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** `ws://host:port` or `wss://…` (a path prefix is allowed; no trailing slash). Default: discover a local LM Studio. */
  readonly baseUrl?: string | undefined
  /** An LM Studio API token (`sk-lm-…:…`). Kept `Redacted`; never logged or put in errors. */
  readonly apiToken?: Redacted.Redacted<string> | string | undefined
  /** Legacy client identifier (with `clientPasskey`); cannot be combined with `apiToken`. */
  readonly clientIdentifier?: string | undefined
  /** Legacy client passkey (with `clientIdentifier`). */
  readonly clientPasskey?: Redacted.Redacted<string> | string | undefined
  /** How long to wait for a socket to open. Default 10 seconds. */
  readonly openTimeout?: Duration.DurationInput | undefined
  /**
   * Ping the server and drop the connection when it stops answering. Off by default, like the
   * official clients; `true` pings every 5 s and gives up after 15 s.
   */
  readonly keepAlive?: boolean | { readonly interval: Duration.DurationInput; readonly timeout: Duration.DurationInput } | undefined
  /**
   * TTL for loads that do not give one (`"30 minutes"`, `Duration.minutes(30)`; a bare number is
   * refused). Default: none (models stay loaded until unloaded).
   */
  readonly defaultTtl?: TtlInput | undefined
  /**
   * A load that makes no progress for this long fails with `LoadTimeoutError` and is cancelled.
   * Default 5 minutes; `Duration.infinity` waits forever.
   */
  readonly loadInactivityTimeout?: Duration.DurationInput | undefined
  /** Ports probed by local discovery. Default: LM Studio's five API ports. */
  readonly discoveryPorts?: ReadonlyArray<number> | undefined
}

/**
 * `client.system`: what the server has and is.
 *
 * @since 0.1.0
 * @category models
 */
export interface SystemNamespace {
  /** Every downloaded model (LLMs and embedding models), or only those of one domain. */
  readonly listDownloadedModels: (
    domain?: "llm" | "embedding"
  ) => Effect.Effect<ReadonlyArray<ModelInfo>, LMStudioError>
  /** LM Studio's version and build number. */
  readonly version: () => Effect.Effect<ServerVersion, LMStudioError>
}

/**
 * The client's interface.
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** The server's base URL (given or discovered). */
  readonly baseUrl: string
  readonly llm: Llm.LlmNamespace
  readonly embedding: Embedding.EmbeddingNamespace
  readonly system: SystemNamespace
  /** Uploads (images for vision models). */
  readonly files: Files.FilesNamespace
}


const decodeModels = Schema.decodeUnknown(Schema.Array(Schema.Unknown))
const decodeInfos = Schema.decodeUnknown(Schema.Array(ModelInfo))
const decodeVersion = Schema.decodeUnknown(ServerVersion)

/** How long closing the client waits to unload instances that scopes still own. */
const CLOSE_GRACE = Duration.seconds(5)

const DEFAULT_KEEP_ALIVE: Port.KeepAlive = { interval: Duration.seconds(5), timeout: Duration.seconds(15) }

const resolveCredentials = (options: Options) => {
  if (options.apiToken !== undefined) {
    if (options.clientIdentifier !== undefined || options.clientPasskey !== undefined) {
      return Effect.fail(
        new InvalidArgumentError({
          field: "apiToken",
          reason: "cannot be combined with clientIdentifier/clientPasskey; pass one or the other"
        })
      )
    }
    return Credentials.fromApiToken(options.apiToken)
  }
  if (options.clientIdentifier !== undefined || options.clientPasskey !== undefined) {
    if (options.clientIdentifier === undefined || options.clientPasskey === undefined) {
      return Effect.fail(
        new InvalidArgumentError({
          field: options.clientIdentifier === undefined ? "clientIdentifier" : "clientPasskey",
          reason: "clientIdentifier and clientPasskey must be given together"
        })
      )
    }
    return Credentials.fromLegacy(options.clientIdentifier, options.clientPasskey)
  }
  return Effect.sync(Credentials.guest)
}

const resolveKeepAlive = (option: Options["keepAlive"]) =>
  option === undefined || option === false
    ? Effect.succeed(Option.none<Port.KeepAlive>())
    : option === true
    ? Effect.succeed(Option.some(DEFAULT_KEEP_ALIVE))
    : Effect.map(
      Effect.all([Validate.timeout("keepAlive.interval", option.interval), Validate.timeout("keepAlive.timeout", option.timeout)]),
      ([interval, timeout]) => Option.some({ interval, timeout })
    )

/**
 * Builds a client. Validates every option before any I/O; without `baseUrl` it discovers a local
 * LM Studio first. Sockets open lazily on first use and close when the scope closes.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: (options?: Options) => Effect.Effect<Service, LMStudioError, Scope.Scope> = Effect.fn(
  "LMStudioClient.make"
)(function*(options: Options = {}) {
  const credentials = yield* resolveCredentials(options)
  const openTimeout = yield* Validate.timeout("openTimeout", options.openTimeout ?? "10 seconds")
  const keepAlive = yield* resolveKeepAlive(options.keepAlive)
  yield* Validate.ttlMillis("defaultTtl", options.defaultTtl)
  const loadInactivityTimeout = yield* Validate.timeout(
    "loadInactivityTimeout",
    options.loadInactivityTimeout ?? "5 minutes"
  )
  const baseUrl = options.baseUrl !== undefined
    ? yield* validateBaseUrl(options.baseUrl)
    : yield* discover(options.discoveryPorts ?? DEFAULT_DISCOVERY_PORTS)
  yield* Effect.annotateCurrentSpan("server.address", baseUrl)

  const scope = yield* Effect.scope
  const makePort = (namespace: string) =>
    Port.make({ url: `${baseUrl}/${namespace}`, credentials, openTimeout, keepAlive })
  const [llmPort, embeddingPort, systemPort, filesPort] = yield* Effect.all([
    makePort("llm"),
    makePort("embedding"),
    makePort("system"),
    makePort("files")
  ])

  const rawDownloaded = systemPort.call("listDownloadedModels").pipe(
    Effect.flatMap((result) =>
      Effect.mapError(decodeModels(result), (e) => ProtocolError.fromParseError(e, { endpoint: "listDownloadedModels", redact: systemPort.redact }))
    )
  )

  const system: SystemNamespace = {
    listDownloadedModels: (domain) =>
      rawDownloaded.pipe(
        // Skip domains this client does not know (e.g. image generation) instead of failing.
        Effect.map((models) =>
          models.filter((m) => {
            const type = (m as { type?: unknown } | null)?.type
            return domain === undefined ? type === "llm" || type === "embedding" : type === domain
          })
        ),
        Effect.flatMap((models) =>
          Effect.mapError(decodeInfos(models), (e) => ProtocolError.fromParseError(e, { endpoint: "listDownloadedModels", redact: systemPort.redact }))
        ),
        withClientSpan("LMStudio.system.listDownloadedModels")
      ),
    version: () =>
      systemPort.call("version").pipe(
        Effect.flatMap((result) =>
          Effect.mapError(decodeVersion(result), (e) => ProtocolError.fromParseError(e, { endpoint: "version", redact: systemPort.redact }))
        ),
        withClientSpan("LMStudio.system.version")
      )
  }

  const defaults: ModelNamespace.Defaults = {
    ttl: options.defaultTtl,
    loadInactivityTimeout,
    cancelGrace: Duration.seconds(30),
    cancelWait: Duration.seconds(1),
    releaseTimeout: CLOSE_GRACE,
    operations: { predictionInactivityTimeout: Duration.minutes(5), embedConcurrency: 16 }
  }
  const llm = yield* ModelNamespace.make(Domains.llm, llmPort, filesPort, rawDownloaded, defaults, scope)
  const embedding = yield* ModelNamespace.make(Domains.embedding, embeddingPort, filesPort, rawDownloaded, defaults, scope)
  // Runs before the sockets close (finalizers run in reverse): if the client closes while scopes
  // still own loaded instances, unload those instead of leaving them behind.
  yield* Effect.addFinalizer(() =>
    Effect.all([llm.releaseAllOwned, embedding.releaseAllOwned], { concurrency: 2, discard: true }).pipe(
      Effect.interruptible, // a finalizer is uninterruptible: let the timeout stop it
      Effect.timeout(CLOSE_GRACE),
      Effect.ignore
    )
  )
  return { baseUrl, llm: llm.namespace, embedding: embedding.namespace, system, files: FilesNamespace.make(filesPort) }
})

/**
 * A layer that provides `LMStudioClient`; its sockets close when the layer is released. Hoist it
 * into a constant: every call builds a separate client.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options?: Options): Layer.Layer<LMStudioClient, LMStudioError> =>
  Layer.scoped(LMStudioClient, make(options))

/**
 * `LMSTUDIO_BASE_URL`, empty or missing = discover a local LM Studio.
 *
 * @since 0.1.0
 * @category config
 */
export const baseUrlConfig: Config.Config<string | undefined> = Config.string("LMSTUDIO_BASE_URL").pipe(
  Config.option,
  Config.map((value) => Option.getOrUndefined(Option.filter(value, (url) => url.trim() !== "")))
)

/**
 * `LMSTUDIO_API_TOKEN` as `Redacted`; empty or missing = no token.
 *
 * @since 0.1.0
 * @category config
 */
export const apiTokenConfig: Config.Config<Redacted.Redacted<string> | undefined> = Config.string("LMSTUDIO_API_TOKEN")
  .pipe(
    Config.option,
    Config.map((value) =>
      Option.getOrUndefined(Option.map(Option.filter(value, (token) => token.trim() !== ""), Redacted.make))
    )
  )

/**
 * Like `layer`, with every option read from `Config` (the `Config.Wrap` pattern of
 * `@effect/sql-pg`): give any option as a `Config`, e.g. `defaultTtl: Config.duration("MY_TTL")`.
 * `baseUrl` and `apiToken` default to `LMSTUDIO_BASE_URL` and `LMSTUDIO_API_TOKEN` (the token stays
 * `Redacted`); without a base URL it discovers a local LM Studio.
 *
 * ```ts
 * LMStudioClient.layerConfig({
 *   defaultTtl: Config.duration("LMSTUDIO_TTL").pipe(Config.withDefault(Duration.hours(1))),
 *   keepAlive: Config.boolean("LMSTUDIO_KEEP_ALIVE").pipe(Config.withDefault(false))
 * })
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  config: Config.Config.Wrap<Options> = {}
): Layer.Layer<LMStudioClient, LMStudioError | ConfigError.ConfigError> =>
  Layer.scoped(
    LMStudioClient,
    Effect.flatMap(
      Config.isConfig(config)
        ? config
        : Config.unwrap<Options>({ baseUrl: baseUrlConfig, apiToken: apiTokenConfig, ...config }),
      make
    )
  )

/**
 * The LM Studio client service: `llm`, `embedding` and `system` namespaces over one server.
 *
 * ```ts
 * const program = Effect.gen(function*() {
 *   const client = yield* LMStudioClient
 *   const model = yield* client.llm.model("llama-3.2-1b-instruct")
 * }).pipe(Effect.provide(LMStudioClient.layer({ baseUrl: "ws://127.0.0.1:1234" })))
 * ```
 *
 * Declared after `make` and the layers so that its statics can refer to them; the layers refer
 * to the class only when called.
 *
 * @since 0.1.0
 * @category tags
 */
export class LMStudioClient extends Context.Tag("lmstudio-effect/LMStudioClient")<LMStudioClient, Service>() {
  /** See {@link make}. */
  static readonly make = make
  /** See {@link layer}. */
  static readonly layer = layer
  /** See {@link layerConfig}. */
  static readonly layerConfig = layerConfig
  /** See {@link baseUrlConfig}. */
  static readonly baseUrlConfig = baseUrlConfig
  /** See {@link apiTokenConfig}. */
  static readonly apiTokenConfig = apiTokenConfig
}

/**
 * Types associated with `LMStudioClient`.
 *
 * @since 0.1.0
 */
export declare namespace LMStudioClient {
  /** The client's options. */
  export type Options = import("./LMStudioClient.js").Options
  /** The client's interface. */
  export type Service = import("./LMStudioClient.js").Service
  /** `client.system`. */
  export type SystemNamespace = import("./LMStudioClient.js").SystemNamespace
}
