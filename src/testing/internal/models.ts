/**
 * Pure model logic of the simulator: catalog normalisation, model resolution,
 * identifier assignment, query matching, instance info and effective load
 * configs.
 *
 * @internal
 */
import type { KVConfig, KVConfigField, KVConfigStack } from "../../internal/protocol/kvConfig.js"
import { flattenStack } from "../../internal/protocol/kvConfig.js"
import type { WireModelQuery } from "../../internal/protocol/modelManagement.js"
import type {
  EmbeddingModelInfo,
  EmbeddingModelInstanceInfo,
  LlmInfo,
  LlmInstanceInfo,
  ModelDomain,
  ModelInfo,
  ModelInstanceInfo
} from "../../ModelInfo.js"

/** A loaded instance as the simulator keeps it. `lastUsedTime` is the only mutable field. */
export interface InstanceRecord {
  readonly model: ModelInfo
  readonly identifier: string
  readonly instanceReference: string
  readonly ttlMs: number | null
  lastUsedTime: number | null
  readonly contextLength: number
  readonly loadConfig: KVConfig
  readonly jit: boolean
}

/** The namespace a socket path names, and the model domain it manages (if any). */
export const domainOfNamespace = (namespace: string): ModelDomain | undefined =>
  namespace === "llm" || namespace === "embedding" ? namespace : undefined

/**
 * Fills in the fields HEAD requires and 1.5.0 ignores: `publisher` (the
 * first path segment), `indexedModelIdentifier` (the path) and `deviceIdentifier: null`.
 * Keys are emitted in the order LM Studio sends them, so frames are easy to read. [inferred: defaults]
 */
export const normalizeModel = (model: ModelInfo): ModelInfo => {
  const base = {
    modelKey: model.modelKey,
    format: model.format,
    displayName: model.displayName,
    publisher: model.publisher ?? model.path.split("/")[0] ?? model.modelKey,
    path: model.path,
    sizeBytes: model.sizeBytes,
    indexedModelIdentifier: model.indexedModelIdentifier ?? model.path,
    deviceIdentifier: model.deviceIdentifier ?? null,
    ...(model.paramsString !== undefined ? { paramsString: model.paramsString } : {}),
    ...(model.architecture !== undefined ? { architecture: model.architecture } : {}),
    ...(model.quantization !== undefined ? { quantization: model.quantization } : {}),
    ...(model.variants !== undefined ? { variants: model.variants } : {}),
    ...(model.selectedVariant !== undefined ? { selectedVariant: model.selectedVariant } : {})
  }
  if (model.type === "llm") {
    const llm: LlmInfo = {
      type: "llm",
      ...base,
      vision: model.vision,
      trainedForToolUse: model.trainedForToolUse,
      maxContextLength: model.maxContextLength
    }
    return llm
  }
  const embedding: EmbeddingModelInfo = { type: "embedding", ...base, maxContextLength: model.maxContextLength }
  return embedding
}

/** The full HEAD superset of instance info. */
export const instanceInfo = (record: InstanceRecord): ModelInstanceInfo => {
  const instance = {
    identifier: record.identifier,
    instanceReference: record.instanceReference,
    ttlMs: record.ttlMs,
    lastUsedTime: record.lastUsedTime,
    contextLength: record.contextLength
  }
  if (record.model.type === "llm") {
    const info: LlmInstanceInfo = { ...record.model, ...instance }
    return info
  }
  const info: EmbeddingModelInstanceInfo = { ...record.model, ...instance }
  return info
}

/** Something that can be resolved by key or path: a catalog entry or a loaded instance. */
export interface Resolvable {
  readonly modelKey: string
  readonly path: string
  readonly indexedModelIdentifier?: string | undefined
}

/**
 * Resolves a requested key among candidates. Tiers, the first non-empty
 * one wins: the exact model key; the exact path or indexed model identifier; then, for a request
 * with a `/` in it, a case-insensitive prefix of the path (`hugging-quants/llama-3.2-1b-instruct`
 * for `hugging-quants/Llama-3.2-1B-Instruct-Q8_0-GGUF/…`, as LM Studio's own Python tests use).
 * Nothing looser: a typo or a fragment such as `qwen` matches nothing.
 */
export const resolveAmong = <A extends Resolvable>(
  request: string,
  candidates: ReadonlyArray<A>
): ReadonlyArray<A> => {
  const lower = request.toLowerCase()
  const tiers: ReadonlyArray<(candidate: A) => boolean> = [
    (c) => c.modelKey === request,
    (c) => c.path === request || c.indexedModelIdentifier === request,
    (c) => request.includes("/") && c.path.toLowerCase().startsWith(lower)
  ]
  for (const tier of tiers) {
    const matches = candidates.filter(tier)
    if (matches.length > 0) return matches
  }
  return []
}

/** The distinct model keys of some matches, in order. */
export const distinctKeys = (matches: ReadonlyArray<Resolvable>): ReadonlyArray<string> => [
  ...new Set(matches.map((m) => m.modelKey))
]

/** The outcome of resolving a downloaded model for one domain. */
export type Resolution =
  | { readonly _tag: "Found"; readonly model: ModelInfo; readonly ambiguous: ReadonlyArray<string> | undefined }
  | { readonly _tag: "DomainMismatch"; readonly model: ModelInfo }
  | { readonly _tag: "NotFound" }

/**
 * Resolves a downloaded model for a namespace. Matches of the namespace's domain win; if only
 * models of another domain match, that is a domain mismatch [inferred]. Several matches:
 * the first is the answer and all their model keys are listed as `ambiguous`; callers that
 * cannot report the ambiguity (`getOrLoad`) refuse it.
 */
export const resolveModel = (
  catalog: ReadonlyArray<ModelInfo>,
  domain: ModelDomain | undefined,
  request: string
): Resolution => {
  const matches = resolveAmong(request, catalog)
  const inDomain = domain === undefined ? matches : matches.filter((m) => m.type === domain)
  const [first] = inDomain
  if (first !== undefined) {
    return {
      _tag: "Found",
      model: first,
      ambiguous: inDomain.length > 1 ? distinctKeys(inDomain) : undefined
    }
  }
  const [other] = matches
  return other !== undefined ? { _tag: "DomainMismatch", model: other } : { _tag: "NotFound" }
}

/**
 * A free identifier derived from `base`: `base` itself, else `base:n` with the lowest free
 * n ≥ 2 (lowest free n is [inferred]).
 */
export const allocateIdentifier = (base: string, isTaken: (identifier: string) => boolean): string => {
  if (!isTaken(base)) return base
  for (let n = 2;; n++) {
    const candidate = `${base}:${n}`
    if (!isTaken(candidate)) return candidate
  }
}

/**
 * Whether an instance satisfies every given field of a query except `identifier`, which
 * {@link instancesMatchingIdentifier} resolves. `path` matches the instance path exactly, as a `publisher/repo` prefix, or the model key
 * [inferred: model key]. `deviceIdentifier` null/absent means local; any string never matches
 * (the simulator has no remote devices) [inferred]. `vision` of an embedding model is false
 * [inferred].
 */
export const matchesQuery = (record: InstanceRecord, query: WireModelQuery): boolean => {
  const model = record.model
  if (
    query.path !== undefined &&
    !(model.path === query.path || model.path.startsWith(`${query.path}/`) || model.modelKey === query.path)
  ) return false
  if (query.domain !== undefined && model.type !== query.domain) return false
  if (query.vision !== undefined && (model.type === "llm" ? model.vision : false) !== query.vision) return false
  if (typeof query.deviceIdentifier === "string") return false
  return true
}

/**
 * The instances a query `identifier` designates, tier by tier: the exact
 * identifier, else the exact model key or path, else a case-insensitive path prefix
 * (see {@link resolveAmong}). Load order within a tier.
 */
export const instancesMatchingIdentifier = (
  identifier: string,
  instances: ReadonlyArray<InstanceRecord>
): ReadonlyArray<InstanceRecord> => {
  const exact = instances.filter((i) => i.identifier === identifier)
  return exact.length > 0
    ? exact
    : resolveAmong(identifier, instances.map((record) => ({ record, ...record.model }))).map((m) => m.record)
}

/** A copy of a query holding only fields both client versions accept (for `displayData.query`). */
export const displayQuery = (query: WireModelQuery): Record<string, unknown> => ({
  ...(query.domain !== undefined ? { domain: query.domain } : {}),
  ...(query.identifier !== undefined ? { identifier: query.identifier } : {}),
  ...(query.path !== undefined ? { path: query.path } : {}),
  ...(query.vision !== undefined ? { vision: query.vision } : {})
})

const contextLengthKey = (domain: ModelDomain): string => `${domain}.load.contextLength`

/**
 * The context length an instance gets: the requested `<domain>.load.contextLength` if the stack
 * carries a positive integer, else min(4096, maxContextLength) [inferred default].
 */
export const contextLengthFor = (model: ModelInfo, fields: ReadonlyArray<KVConfigField>): number => {
  const requested = fields.find((f) => f.key === contextLengthKey(model.type))?.value
  return typeof requested === "number" && Number.isInteger(requested) && requested >= 1
    ? requested
    : Math.min(4096, model.maxContextLength)
}

/** The GPU split LM Studio applies when none is given (matches what 1.5.0 sends) [inferred]. */
const defaultGpuSplit = { strategy: "evenly", disabledGpus: [], priority: [], customRatio: [] }

/**
 * The effective load config of an instance: the stack flattened over defaults, with
 * `<domain>.load.contextLength` equal to the instance context length. Defaults beyond the
 * context length and GPU split are not reported. [inferred: default set]
 */
export const effectiveLoadConfig = (
  model: ModelInfo,
  stack: KVConfigStack
): { readonly contextLength: number; readonly config: KVConfig } => {
  const requested = flattenStack(stack).fields
  const contextLength = contextLengthFor(model, requested)
  const merged = new Map<string, KVConfigField>()
  merged.set("load.gpuSplitConfig", { key: "load.gpuSplitConfig", value: defaultGpuSplit })
  for (const field of requested) merged.set(field.key, field)
  merged.set(contextLengthKey(model.type), { key: contextLengthKey(model.type), value: contextLength })
  return { contextLength, config: { fields: [...merged.values()] } }
}
