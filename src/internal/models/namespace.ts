/**
 * The model-management namespace behind `client.llm` and `client.embedding`, parameterised by
 * domain: it wires handles, load runs, single flight and scope ownership into the public
 * operations, each a `LMStudio.<domain>.<method>` client span.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { InvalidArgumentError, type LMStudioError, ModelNotFoundError } from "../../LMStudioError.js"
import type * as LoadEvent from "../../LoadEvent.js"
import { ModelQuery } from "../../ModelInfo.js"
import type * as Api from "../../ModelNamespace.js"
import type { Port } from "../port.js"
import { annotate, withClientSpan } from "../tracing.js"
import * as Validate from "../validate.js"
import type { Defaults, Domain, InstanceInfoBase } from "./domain.js"
import { makeHandles, protocolError } from "./handle.js"
import * as Inactivity from "./inactivity.js"
import { makeLoadRuns } from "./loadChannel.js"
import { type LoadEndpoint, prepare, type LoadRequest } from "./loadRequest.js"
import * as Ownership from "./ownership.js"
import * as SingleFlight from "./singleFlight.js"

const decodeQuery = Schema.decodeUnknown(ModelQuery, { onExcessProperty: "error" })

export type { Defaults, Domain, InstanceInfoBase } from "./domain.js"

export const make = <Info, InstanceInfo extends InstanceInfoBase, Config, Handle>(
  domain: Domain<Info, InstanceInfo, Config, Handle>,
  port: Port,
  files: Port,
  listDownloadedModels: Effect.Effect<ReadonlyArray<unknown>, LMStudioError>,
  defaults: Defaults,
  clientScope: Scope.Scope
): Effect.Effect<{
  readonly namespace: Api.ModelNamespace<Handle, Info, InstanceInfo, Config>
  /** Unloads the instances that scopes still own; run when the client closes. */
  readonly releaseAllOwned: Effect.Effect<void>
}> =>
  Effect.map(Inactivity.make(clientScope), (inactivity) => {
    const { decoders } = domain
    const { handleFor, unloadIdentifier, unloadInstance } = makeHandles(domain, port, files, defaults, inactivity)
    const runs = makeLoadRuns({ domain, port, defaults, inactivity, clientScope, handleFor, unloadInstance })
    const singleFlight = SingleFlight.make(port, runs)
    const ownership = Ownership.make(unloadInstance, defaults.releaseTimeout)

    /** A public operation: `body` in a `LMStudio.<domain>.<method>` client span. */
    const traced = <Args extends Array<any>, A, E, R>(method: string, body: (...args: Args) => Effect.Effect<A, E, R>) => {
      const span = withClientSpan(`LMStudio.${domain.name}.${method}`)
      return (...args: Args): Effect.Effect<A, E, R> => span(body(...args))
    }
    const annotateHandle = (handle: Handle) =>
      annotate("lmstudio.identifier", (handle as { readonly identifier: string }).identifier)

    /** The four loading operations: validate, load, annotate the span, return the handle. */
    const loading = <Options extends Api.LoadOptions<Config> | Api.ModelOptions<Config>, R>(
      method: string,
      endpoint: LoadEndpoint,
      load: (request: LoadRequest, options: Options | undefined) => Effect.Effect<LoadEvent.Loaded<Handle>, LMStudioError, R>
    ) =>
      traced(method, (key: string, options?: Options) =>
        Effect.gen(function*() {
          yield* annotate("lmstudio.model_key", String(key))
          const request = yield* prepare(domain, defaults, endpoint, key, options)
          const { handle } = yield* load(request, options)
          yield* annotateHandle(handle)
          return handle
        }))

    const getOrLoad = loading<Api.ModelOptions<Config>, never>(
      "model",
      "getOrLoad",
      (request, options) => singleFlight.getOrLoad(request, options?.onProgress)
    )
    const modelScoped = loading<Api.ModelOptions<Config>, Scope.Scope>(
      "modelScoped",
      "getOrLoad",
      (request, options) => ownership.scoped((own) => singleFlight.getOrLoad(request, options?.onProgress, own))
    )
    const loadNewInstance = loading<Api.LoadOptions<Config>, never>(
      "loadNewInstance",
      "loadModel",
      (request, options) => runs.runLoad(request, options?.onProgress)
    )
    const loadNewInstanceScoped = loading<Api.LoadOptions<Config>, Scope.Scope>(
      "loadNewInstanceScoped",
      "loadModel",
      (request, options) => ownership.scoped((own) => runs.runLoad(request, options?.onProgress, own))
    )
    const eventStream = (endpoint: LoadEndpoint) => (key: string, options?: Api.LoadOptions<Config>) =>
      Stream.unwrap(Effect.map(prepare(domain, defaults, endpoint, key, options), runs.events))

    const anyModel = traced("model", () =>
      Effect.gen(function*() {
        const result = yield* port.call("getModelInfo", { specifier: { type: "query", query: {} }, throwIfNotFound: true })
          .pipe(Effect.mapError((error) =>
            error._tag === "ModelNotFoundError"
              ? new ModelNotFoundError({
                title: `No ${domain.noun} is loaded`,
                suggestion: `Load one with client.${domain.name}.model("<model key>") (or loadNewInstance), or ` +
                  "load it in LM Studio; list what is downloaded with client.system.listDownloadedModels().",
                ...(error.serverCause === undefined ? {} : { serverCause: error.serverCause })
              })
              : error
          ))
        const handle = handleFor(yield* Effect.mapError(decoders.instance(result), protocolError("getModelInfo", port.redact)))
        yield* annotateHandle(handle)
        return handle
      }))

    const toQuery = (query: string | ModelQuery | undefined): Effect.Effect<ModelQuery, InvalidArgumentError> =>
      query === undefined
        ? Effect.succeed({})
        : typeof query === "string"
        ? Effect.map(Validate.keyString("query", query), (identifier) => ({ identifier }))
        // LM Studio answers an invalid query with only a warning, so the call would never return.
        : Effect.mapError(decodeQuery(query), (error) =>
          new InvalidArgumentError({ field: "query", reason: ParseResult.TreeFormatter.formatErrorSync(error) }))

    const namespace: Api.ModelNamespace<Handle, Info, InstanceInfo, Config> = {
      model: ((key?: string, options?: Api.ModelOptions<Config>) =>
        key === undefined && options === undefined ? anyModel() : getOrLoad(key as string, options)) as Api.ModelNamespace<
          Handle,
          Info,
          InstanceInfo,
          Config
        >["model"],
      modelScoped,
      modelStream: eventStream("getOrLoad"),
      loadNewInstance,
      loadNewInstanceScoped,
      loadNewInstanceStream: eventStream("loadModel"),
      unload: traced("unload", (identifier: string) =>
        Effect.gen(function*() {
          yield* annotate("lmstudio.identifier", String(identifier))
          yield* unloadIdentifier(yield* Validate.keyString("identifier", identifier))
        })),
      listLoaded: traced("listLoaded", () =>
        Effect.flatMap(port.call("listLoaded"), (result) =>
          Effect.mapError(
            Effect.map(decoders.instances(result), (infos) => infos.map(handleFor)),
            protocolError("listLoaded", port.redact)
          ))),
      getModelInfo: traced("getModelInfo", (query?: string | ModelQuery) =>
        Effect.gen(function*() {
          const q = yield* toQuery(query)
          const result = yield* port.call("getModelInfo", { specifier: { type: "query", query: q }, throwIfNotFound: true })
          return yield* Effect.mapError(decoders.instance(result), protocolError("getModelInfo", port.redact))
        })),
      listDownloaded: traced("listDownloaded", () =>
        Effect.flatMap(listDownloadedModels, (models) =>
          Effect.mapError(decoders.infos(models.filter(domain.isInfo)), protocolError("listDownloadedModels", port.redact))))
    }
    return { namespace, releaseAllOwned: ownership.releaseAll }
  })
