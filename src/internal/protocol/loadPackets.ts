/**
 * Packets the server sends on the `loadModel` and `getOrLoad` channels, with the hand-written checks used where a Schema decode per packet would cost too
 * much. Each check accepts only what its Schema accepts (a property test holds them to that).
 *
 * @internal
 */
import * as Schema from "effect/Schema"
import { ModelInstanceInfo } from "../../ModelInfo.js"

/** A load's progress, a fraction (the server may send it thousands of times per load). */
export const ProgressPacket = Schema.Struct({
  type: Schema.Literal("progress", "loadProgress"),
  progress: Schema.Number
})

/**
 * Whether `u` is a {@link ProgressPacket}. Progress is nearly all of a load's traffic, so it is
 * checked by hand, with the same rules as the Schema.
 */
export const isProgressPacket = (u: unknown): u is typeof ProgressPacket.Type => {
  if (typeof u !== "object" || u === null) return false
  const packet = u as { type?: unknown; progress?: unknown }
  return (packet.type === "progress" || packet.type === "loadProgress") && typeof packet.progress === "number"
}

/**
 * What cleanup needs of a "loaded by this call" packet: which instance the server loaded (its
 * identifier, to unload it, and its reference, to be sure it is still the same instance).
 */
export const LoadedPacket = Schema.Struct({
  type: Schema.Literal("success", "loadSuccess"),
  info: Schema.Struct({ identifier: Schema.String, instanceReference: Schema.String })
})

/** Whether `u` is a {@link LoadedPacket}; cheap enough to run on every packet a cleanup drains. */
export const isLoadedPacket = (u: unknown): u is typeof LoadedPacket.Type => {
  if (typeof u !== "object" || u === null) return false
  const packet = u as { type?: unknown; info?: unknown }
  if (packet.type !== "success" && packet.type !== "loadSuccess") return false
  const info = packet.info
  if (typeof info !== "object" || info === null) return false
  const { identifier, instanceReference } = info as { identifier?: unknown; instanceReference?: unknown }
  return typeof identifier === "string" && typeof instanceReference === "string"
}

/** Every packet of both load endpoints, for a domain's model and instance info. */
export const loadPacket = <Info, InfoEncoded, InstanceInfo, InstanceInfoEncoded>(
  info: Schema.Schema<Info, InfoEncoded>,
  instanceInfo: Schema.Schema<InstanceInfo, InstanceInfoEncoded>
) =>
  Schema.Union(
    Schema.Struct({ type: Schema.Literal("resolved"), info, ambiguous: Schema.optional(Schema.Array(Schema.String)) }),
    Schema.Struct({ type: Schema.Literal("startLoading"), identifier: Schema.String, info }),
    ProgressPacket,
    Schema.Struct({ type: Schema.Literal("unloadingOtherJITModel"), info: ModelInstanceInfo }),
    Schema.Struct({ type: Schema.Literal("success", "loadSuccess", "alreadyLoaded"), info: instanceInfo })
  )

/** A decoded load packet. */
export type LoadPacket<Info, InstanceInfo> = ReturnType<typeof loadPacket<Info, unknown, InstanceInfo, unknown>>["Type"]

/** The `type`s of every load packet this client reads; the port drops others (newer servers). */
export const loadPacketTypes: ReadonlySet<string> = new Set([
  "resolved",
  "startLoading",
  "progress",
  "loadProgress",
  "unloadingOtherJITModel",
  "success",
  "loadSuccess",
  "alreadyLoaded"
])
