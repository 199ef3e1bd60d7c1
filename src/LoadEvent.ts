/**
 * Events of a model load, as emitted by `modelStream` and `loadNewInstanceStream`: the model was
 * resolved, progress fractions, other JIT models being evicted, and finally the loaded handle.
 *
 * @since 0.1.0
 */
import type { ModelInstanceInfo } from "./ModelInfo.js"

/**
 * LM Studio resolved the requested key to a downloaded model and started loading it.
 *
 * @since 0.1.0
 * @category models
 */
export interface Resolved<Info> {
  readonly _tag: "Resolved"
  /** The downloaded model being loaded. */
  readonly info: Info
  /** The identifier the new instance will get, when the server announces it (get-or-load only). */
  readonly identifier: string | undefined
  /** Other model keys that also matched the request; the first match is loaded. */
  readonly ambiguous: ReadonlyArray<string>
}

/**
 * Load progress, a fraction in [0, 1]; fractions never decrease and the last one is 1.
 *
 * @since 0.1.0
 * @category models
 */
export interface Progress {
  readonly _tag: "Progress"
  readonly progress: number
}

/**
 * LM Studio is unloading another just-in-time loaded model (of any domain) to make room
 * (its "JIT auto-evict" setting).
 *
 * @since 0.1.0
 * @category models
 */
export interface UnloadingOtherJitModel {
  readonly _tag: "UnloadingOtherJitModel"
  readonly info: ModelInstanceInfo
}

/**
 * The last event: the model is loaded and ready.
 *
 * @since 0.1.0
 * @category models
 */
export interface Loaded<Handle> {
  readonly _tag: "Loaded"
  readonly handle: Handle
  /** `false` when get-or-load found the model already loaded. */
  readonly loadedByThisCall: boolean
}

/**
 * Any load event.
 *
 * @since 0.1.0
 * @category models
 */
export type LoadEvent<Handle, Info> = Resolved<Info> | Progress | UnloadingOtherJitModel | Loaded<Handle>

/**
 * Whether an event is the final `Loaded` one.
 *
 * @since 0.1.0
 * @category guards
 */
export const isLoaded = <Handle, Info>(event: LoadEvent<Handle, Info>): event is Loaded<Handle> =>
  event._tag === "Loaded"

/**
 * Whether an event is a `Progress` fraction.
 *
 * @since 0.1.0
 * @category guards
 */
export const isProgress = <Handle, Info>(event: LoadEvent<Handle, Info>): event is Progress =>
  event._tag === "Progress"
