/**
 * KV configs: how LM Studio carries load and prediction settings on the wire. Keys are full dotted names such as `llm.load.contextLength`.
 *
 * @internal
 */
import * as Schema from "effect/Schema"

export const KVConfigField = Schema.Struct({ key: Schema.String, value: Schema.optional(Schema.Unknown) })
export type KVConfigField = typeof KVConfigField.Type

export const KVConfig = Schema.Struct({ fields: Schema.Array(KVConfigField) })
export type KVConfig = typeof KVConfig.Type

export const KVConfigLayerName = Schema.Literal(
  "currentlyEditing",
  "currentlyLoaded",
  "apiOverride",
  "conversationSpecific",
  "conversationGlobal",
  "preset",
  "serverSession",
  "httpServerRequestOverride",
  "completeModeFormatting",
  "instance",
  "userModelDefault",
  "virtualModel",
  "modelDefault",
  "hardware"
)

export const KVConfigStack = Schema.Struct({
  layers: Schema.Array(Schema.Struct({ layerName: KVConfigLayerName, config: KVConfig }))
})
export type KVConfigStack = typeof KVConfigStack.Type

/** A stack with one `apiOverride` layer, which is what clients send with a load. */
export const apiOverrideStack = (fields: ReadonlyArray<KVConfigField>): KVConfigStack => ({
  layers: [{ layerName: "apiOverride", config: { fields } }]
})

/** Flattens a stack into one config; later layers take precedence. */
export const flattenStack = (stack: KVConfigStack): KVConfig => {
  const merged = new Map<string, KVConfigField>()
  for (const layer of stack.layers) {
    for (const field of layer.config.fields) merged.set(field.key, field)
  }
  return { fields: [...merged.values()] }
}
