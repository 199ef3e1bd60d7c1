/**
 * Handles to loaded instances. A handle addresses exactly the instance it was made for (by its
 * `instanceReference`), never another instance that later reuses its identifier.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as ParseResult from "effect/ParseResult"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import { type LMStudioError, ModelNotFoundError, ProtocolError } from "../../LMStudioError.js"
import type * as Api from "../../ModelNamespace.js"
import type { HandleContext, InstanceSpecifier } from "../handleContext.js"
import type { Port } from "../port.js"
import { KVConfig } from "../protocol/kvConfig.js"
import { withClientSpan } from "../tracing.js"
import type { Defaults, Domain, InstanceInfoBase } from "./domain.js"
import type { Inactivity } from "./inactivity.js"

const decodeKV = Schema.decodeUnknown(KVConfig)

/** A `ProtocolError` for a reply of `endpoint` that does not match its Schema. */
export const protocolError = (endpoint: string, redact: (text: string) => string) => (error: ParseResult.ParseError) =>
  ProtocolError.fromParseError(error, { endpoint, redact })

const specifierOf = (instanceReference: string): InstanceSpecifier => ({ type: "instanceReference", instanceReference })

export interface Handles<InstanceInfo extends InstanceInfoBase, Handle> {
  /** A handle to the instance `info` describes. */
  readonly handleFor: (info: InstanceInfo) => Handle
  /**
   * Unloads the instance `instanceReference` designates, under its `identifier`; fails with
   * `ModelNotFoundError` when that instance is gone.
   *
   * `unloadModel` accepts only an identifier, so the instance is first looked up by reference and
   * then unloaded by identifier. Known limit: if, between those two round trips, the instance is
   * unloaded by someone else and another one is loaded under the same identifier, that other
   * instance is unloaded.
   */
  readonly unloadInstance: (instanceReference: string, identifier: string) => Effect.Effect<void, LMStudioError>
  /** Unloads whatever instance has this identifier. */
  readonly unloadIdentifier: (identifier: string) => Effect.Effect<void, LMStudioError>
}

export const makeHandles = <Info, InstanceInfo extends InstanceInfoBase, Config, Handle>(
  domain: Domain<Info, InstanceInfo, Config, Handle>,
  port: Port,
  files: Port,
  defaults: Defaults,
  inactivity: Inactivity
): Handles<InstanceInfo, Handle> => {
  const gone = (identifier: string) => () =>
    new ModelNotFoundError({
      title: `The ${domain.noun} "${identifier}" has already been unloaded`,
      suggestion: `Get a fresh handle with client.${domain.name}.model(key) or loadNewInstance(key).`
    })

  /** The instance's current info, `undefined` when it is gone. */
  const lookUp = (instanceReference: string) =>
    port.call("getModelInfo", { specifier: specifierOf(instanceReference), throwIfNotFound: false })

  const unloadIdentifier = (identifier: string) => Effect.asVoid(port.call("unloadModel", { identifier }))

  const unloadInstance = (instanceReference: string, identifier: string) =>
    Effect.flatMap(lookUp(instanceReference), (found) =>
      found === undefined ? Effect.fail(gone(identifier)()) : unloadIdentifier(identifier))

  const getInfoOf = (info: InstanceInfo): Effect.Effect<InstanceInfo, LMStudioError> =>
    Effect.flatMap(lookUp(info.instanceReference), (result): Effect.Effect<InstanceInfo, LMStudioError> =>
      result === undefined
        ? Effect.fail(gone(info.identifier)())
        : Effect.mapError(domain.decoders.instance(result), protocolError("getModelInfo", port.redact)))

  const loadConfigOf = (info: InstanceInfo) =>
    port.call("getLoadConfig", { specifier: specifierOf(info.instanceReference) }).pipe(
      Effect.flatMap((result) => Effect.mapError(decodeKV(result), protocolError("getLoadConfig", port.redact)))
    )

  const span = (method: string, info: InstanceInfo) =>
    withClientSpan(`LMStudio.${domain.name}.handle.${method}`, {
      "lmstudio.identifier": info.identifier,
      "lmstudio.model_key": info.modelKey
    })

  const contextOf = (info: InstanceInfo): HandleContext<InstanceInfo> => ({
    domain: domain.name,
    port,
    files,
    info,
    specifier: specifierOf(info.instanceReference),
    defaults: defaults.operations,
    inactivity,
    gone: gone(info.identifier)
  })

  /**
   * Handles are cheap to make (a list of 100 instances makes 100): their effects are built on
   * access, from the prototype, and the domain's operations (respond, embed, …) the first time
   * one of them is read (most handles, e.g. those of `listLoaded`, never use them).
   */
  let operationNames: ReadonlyArray<string> | undefined
  class HandleImpl implements Api.ModelHandle<InstanceInfo, Config> {
    readonly _tag = domain.handleTag
    readonly identifier: string
    readonly modelKey: string
    /** The domain's operations for this instance, once one was read. */
    private ops: Record<string, unknown> | undefined = undefined
    constructor(readonly info: InstanceInfo) {
      this.identifier = info.identifier
      this.modelKey = info.modelKey
      if (operationNames === undefined) {
        // The first handle learns the operations' names and puts a getter for each on the prototype.
        this.ops = domain.operations(contextOf(info)) as Record<string, unknown>
        operationNames = Object.keys(this.ops)
        for (const name of operationNames) {
          Object.defineProperty(HandleImpl.prototype, name, {
            get(this: HandleImpl) {
              return this.operations()[name]
            },
            enumerable: true,
            configurable: true
          })
        }
      }
    }
    private operations(): Record<string, unknown> {
      return this.ops ??= domain.operations(contextOf(this.info)) as Record<string, unknown>
    }
    get unload() {
      return unloadInstance(this.info.instanceReference, this.identifier).pipe(span("unload", this.info))
    }
    get getInfo() {
      return getInfoOf(this.info).pipe(span("getInfo", this.info))
    }
    get getLoadConfig() {
      return loadConfigOf(this.info).pipe(Effect.map(domain.configFromKV), span("getLoadConfig", this.info))
    }
    get getContextLength() {
      return loadConfigOf(this.info).pipe(
        Effect.flatMap((kv) => {
          const value = kv.fields.find((field) => field.key === domain.contextLengthKey)?.value
          return typeof value === "number" ? Effect.succeed(value) : Effect.map(getInfoOf(this.info), (i) => i.contextLength)
        }),
        span("getContextLength", this.info)
      )
    }
  }

  return {
    handleFor: (info) => new HandleImpl(info) as unknown as Handle,
    unloadInstance,
    unloadIdentifier
  }
}

/**
 * For cleanup paths: a socket that just dropped may not have been noticed yet, so a connection
 * failure is retried (on a fresh connection) a few times.
 */
export const retryOnFreshConnection = <A>(effect: Effect.Effect<A, LMStudioError>) =>
  Effect.retry(effect, {
    times: 3,
    schedule: Schedule.exponential("20 millis"),
    while: (error) => error._tag === "ConnectionError" && error.reason === "Closed"
  })
