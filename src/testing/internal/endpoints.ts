/**
 * The endpoint tables of the namespaces the simulator serves.
 * Any other namespace accepts authentication and answers every call with a warning only.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import {
  GetLoadConfigParameter,
  GetModelInfoParameter,
  GetOrLoadParameter,
  LoadModelParameter,
  type ModelSpecifier,
  UnloadModelParameter
} from "../../internal/protocol/modelManagement.js"
import {
  type CallContext,
  channel,
  type ChannelEndpoint,
  type NamespaceEndpoints,
  rpc,
  type RpcEndpoint,
  rpcNoParameter
} from "./context.js"
import { noModelMatchingQuery, type ServerFailure, specificModelUnloaded } from "./errors.js"
import { uploadFileBase64 } from "./files.js"
import { applyPromptTemplate, countTokens, embedString, tokenize } from "./inference.js"
import { getOrLoad, loadModel } from "./loading.js"
import { displayQuery, instanceInfo, type InstanceRecord } from "./models.js"
import { completeRawTextChannel, predictChannel } from "./predict.js"
import { findBySpecifier, instancesOf, unloadInstance } from "./state.js"

const loadedIdentifiers = (ctx: CallContext): ReadonlyArray<string> =>
  instancesOf(ctx.sim, ctx.domain).map((i) => i.identifier)

/** The not-found error for a specifier; `onVanished` is used for instance references. */
const notFound = (ctx: CallContext, specifier: ModelSpecifier, onVanished: ServerFailure): ServerFailure =>
  specifier.type === "instanceReference"
    ? onVanished
    : noModelMatchingQuery(displayQuery(specifier.query), loadedIdentifiers(ctx))

const find = (
  ctx: CallContext,
  specifier: ModelSpecifier,
  onVanished: ServerFailure
): Effect.Effect<InstanceRecord, ServerFailure> =>
  Effect.suspend(() => {
    const found = findBySpecifier(ctx.sim, ctx.domain, specifier)
    return found !== undefined ? Effect.succeed(found) : Effect.fail(notFound(ctx, specifier, onVanished))
  })

/** Only instances of the socket's own namespace can be unloaded through it [inferred]. */
const unloadModel = rpc(UnloadModelParameter, (ctx, { identifier }) =>
  Effect.suspend(() => {
    const record = instancesOf(ctx.sim, ctx.domain).find((i) => i.identifier === identifier)
    return record === undefined
      ? Effect.fail(noModelMatchingQuery({ identifier }, loadedIdentifiers(ctx)))
      : Effect.asVoid(unloadInstance(ctx.sim, record))
  }))

const listLoaded = rpcNoParameter((ctx) => Effect.sync(() => instancesOf(ctx.sim, ctx.domain).map(instanceInfo)))

/** An empty query matches the first instance of the namespace in load order [inferred order]. */
const getModelInfo = rpc(GetModelInfoParameter, (ctx, { specifier, throwIfNotFound }) =>
  Effect.suspend(() => {
    const found = findBySpecifier(ctx.sim, ctx.domain, specifier)
    if (found !== undefined) return Effect.succeed(instanceInfo(found))
    // Not found and not throwing: a result-less rpcResult.
    return throwIfNotFound ? Effect.fail(notFound(ctx, specifier, specificModelUnloaded)) : Effect.succeed(undefined)
  }))

/** Not found: `specificModelUnloaded` / `noModelMatchingQuery` as for `getModelInfo` [inferred]. */
const getLoadConfig = rpc(GetLoadConfigParameter, (ctx, { specifier }) =>
  find(ctx, specifier, specificModelUnloaded).pipe(Effect.map((record) => record.loadConfig)))

const modelChannels = new Map<string, ChannelEndpoint>([
  ["loadModel", channel(LoadModelParameter, loadModel)],
  ["getOrLoad", channel(GetOrLoadParameter, getOrLoad)]
])

const modelRpcs: ReadonlyArray<readonly [string, RpcEndpoint]> = [
  ["unloadModel", unloadModel],
  ["listLoaded", listLoaded],
  ["getModelInfo", getModelInfo],
  ["getLoadConfig", getLoadConfig],
  ["tokenize", tokenize],
  ["countTokens", countTokens]
]

const system: NamespaceEndpoints = {
  rpc: new Map<string, RpcEndpoint>([
    ["listDownloadedModels", rpcNoParameter((ctx) => Effect.succeed(ctx.sim.options.catalog))],
    ["version", rpcNoParameter((ctx) => Effect.succeed(ctx.sim.options.version))]
  ]),
  channel: new Map<string, ChannelEndpoint>([
    // `alive`: the server never sends a packet; it ends when the connection does.
    ["alive", { open: () => Either.right(Effect.never), cancellable: false }]
  ])
}

/**
 * Namespaces a client may open; the last path segment of the socket URL. Namespaces other
 * than llm/embedding/system authenticate but answer every call with a warning only [inferred].
 */
export const knownNamespaces: ReadonlySet<string> = new Set([
  "llm",
  "embedding",
  "system",
  "diagnostics",
  "files",
  "repository",
  "plugins",
  "runtime"
])

const files: NamespaceEndpoints = { rpc: new Map([["uploadFileBase64", uploadFileBase64]]), channel: new Map() }
const empty: NamespaceEndpoints = { rpc: new Map(), channel: new Map() }
const llm: NamespaceEndpoints = {
  rpc: new Map([...modelRpcs, ["applyPromptTemplate", applyPromptTemplate]]),
  channel: new Map([...modelChannels, ["predict", predictChannel], ["completeRawText", completeRawTextChannel]])
}
const embedding: NamespaceEndpoints = {
  rpc: new Map([...modelRpcs, ["embedString", embedString]]),
  channel: modelChannels
}

/** The endpoints of a namespace. */
export const endpointsOf = (namespace: string): NamespaceEndpoints => {
  switch (namespace) {
    case "llm":
      return llm
    case "embedding":
      return embedding
    case "system":
      return system
    case "files":
      return files
    default:
      return empty
  }
}
