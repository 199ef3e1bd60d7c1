/**
 * Parameters and packets of the model-management endpoints shared by the `llm` and `embedding`
 * namespaces, and of the `system` listing endpoints.
 *
 * Request schemas ignore unknown fields (HEAD-only `deviceIdentifier`, `kind`, …) as the
 * server must.
 *
 * @internal
 */
import * as Schema from "effect/Schema"
import { KVConfigStack } from "./kvConfig.js"

/** A "reasonable key string": 1–1024 characters. */
const KeyString = Schema.String.pipe(Schema.minLength(1), Schema.maxLength(1024))

/** `ModelDomainType` at HEAD. */
export const ModelDomainType = Schema.Literal("llm", "embedding", "drafter", "imageGen", "transcription", "tts")
export type ModelDomainType = typeof ModelDomainType.Type

/** `ModelQuery`: every given field must match. */
export const WireModelQuery = Schema.Struct({
  domain: Schema.optional(ModelDomainType),
  deviceIdentifier: Schema.optional(Schema.NullOr(Schema.String)),
  identifier: Schema.optional(KeyString),
  path: Schema.optional(KeyString),
  vision: Schema.optional(Schema.Boolean)
})
export type WireModelQuery = typeof WireModelQuery.Type

/** `ModelSpecifier`. */
export const ModelSpecifier = Schema.Union(
  Schema.Struct({ type: Schema.Literal("query"), query: WireModelQuery }),
  Schema.Struct({ type: Schema.Literal("instanceReference"), instanceReference: Schema.String })
)
export type ModelSpecifier = typeof ModelSpecifier.Type

const Ttl = Schema.Int.pipe(Schema.greaterThanOrEqualTo(1))

/** `loadModel` creation parameter. */
export const LoadModelParameter = Schema.Struct({
  modelKey: KeyString,
  identifier: Schema.optional(KeyString),
  deviceIdentifier: Schema.optional(Schema.NullOr(Schema.String)),
  ttlMs: Schema.optional(Ttl),
  loadConfigStack: KVConfigStack
})
export type LoadModelParameter = typeof LoadModelParameter.Type

/** `getOrLoad` creation parameter. */
export const GetOrLoadParameter = Schema.Struct({
  identifier: KeyString,
  deviceIdentifier: Schema.optional(Schema.NullOr(Schema.String)),
  loadTtlMs: Schema.optional(Ttl),
  loadConfigStack: KVConfigStack
})
export type GetOrLoadParameter = typeof GetOrLoadParameter.Type

/** The only client → server packet of `loadModel` / `getOrLoad`. */
export const LoadClientPacket = Schema.Struct({ type: Schema.Literal("cancel") })

/** `unloadModel` parameter. */
export const UnloadModelParameter = Schema.Struct({
  identifier: KeyString,
  deviceIdentifier: Schema.optional(Schema.NullOr(Schema.String))
})

/** `getModelInfo` parameter. */
export const GetModelInfoParameter = Schema.Struct({
  specifier: ModelSpecifier,
  throwIfNotFound: Schema.Boolean
})

/** `getLoadConfig` parameter. */
export const GetLoadConfigParameter = Schema.Struct({ specifier: ModelSpecifier })

/** `tokenize` / `countTokens` parameter. */
export const TokenizeParameter = Schema.Struct({ specifier: ModelSpecifier, inputString: Schema.String })

/** `embedString` parameter; note `modelSpecifier`, not `specifier`. */
export const EmbedStringParameter = Schema.Struct({ modelSpecifier: ModelSpecifier, inputString: Schema.String })
