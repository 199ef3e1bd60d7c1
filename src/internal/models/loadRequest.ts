/**
 * A load request, validated and prepared before any I/O: the endpoint, the channel's creation
 * parameter and the inactivity limit.
 *
 * @internal
 */
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { InvalidArgumentError } from "../../LMStudioError.js"
import type * as Api from "../../ModelNamespace.js"
import { apiOverrideStack } from "../protocol/kvConfig.js"
import * as Validate from "../validate.js"
import type { Defaults, Domain, InstanceInfoBase } from "./domain.js"

/** `loadModel` always loads a new instance; `getOrLoad` loads only when none matches. */
export type LoadEndpoint = "loadModel" | "getOrLoad"

export interface LoadRequest {
  readonly endpoint: LoadEndpoint
  readonly modelKey: string
  readonly requestedIdentifier: string | undefined
  readonly creationParameter: Record<string, unknown>
  /** Fail with `LoadTimeoutError` after this long without a packet. */
  readonly inactivity: Duration.Duration
}

/** Validates a load's key and options (naming the bad field) and builds its request. */
export const prepare = <Config>(
  domain: Pick<Domain<unknown, InstanceInfoBase, Config, unknown>, "validateConfig" | "configToFields">,
  defaults: Defaults,
  endpoint: LoadEndpoint,
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
