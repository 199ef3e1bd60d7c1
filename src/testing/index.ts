/**
 * Testing utilities: a protocol-faithful LM Studio simulator.
 *
 * @since 0.1.0
 */

import * as Simulator from "./LMStudioSimulator.js"

/**
 * A protocol-faithful LM Studio (HTTP + WebSocket on loopback) with fault injection and a
 * traffic log.
 *
 * Exported the way the main entry point exports `LMStudioClient`: the service tag itself
 * (`yield* LMStudioSimulator`), carrying the module's functions as statics
 * (`LMStudioSimulator.make`, `.layer`, `.layerClient`, …) and its types in its namespace
 * (`LMStudioSimulator.Service`, `.SimulatorOptions`, …). The module-namespace spelling
 * `LMStudioSimulator.LMStudioSimulator` still works.
 *
 * @since 0.1.0
 */
export const LMStudioSimulator: typeof Simulator.LMStudioSimulator & typeof Simulator = Object.assign(
  Simulator.LMStudioSimulator,
  Simulator
)

/**
 * The simulator's types.
 *
 * @since 0.1.0
 */
export declare namespace LMStudioSimulator {
  /** The simulator service. */
  export type Service = Simulator.LMStudioSimulator.Service
  /** How to build a simulator. */
  export type SimulatorOptions = Simulator.SimulatorOptions
  /** Options of `preload`. */
  export type PreloadOptions = Simulator.PreloadOptions
  /** A prediction preset (`presets` option). */
  export type Preset = Simulator.Preset
  /** One config field as LM Studio sends it. */
  export type ConfigField = Simulator.ConfigField
  /** A scripted load failure. */
  export type LoadFailure = Simulator.LoadFailure
  /** Fault injection. */
  export type Faults = Simulator.Faults
  /** One logged frame. */
  export type TrafficEntry = Simulator.TrafficEntry
  /** A test-setup call that could not be carried out. */
  export type SimulatorError = Simulator.SimulatorError
  /** The module-namespace spelling of the service's types. */
  export namespace LMStudioSimulator {
    /** The simulator service. */
    export type Service = Simulator.LMStudioSimulator.Service
  }
}

export {
  /**
   * The models the simulator reports as downloaded by default.
   *
   * @since 0.1.0
   * @category catalog
   */
  defaultCatalog
} from "./catalog.js"

export type {
  /**
   * A catalog entry: model info plus, for embedding models, the simulated embedding dimension.
   *
   * @since 0.1.0
   * @category catalog
   */
  CatalogModel
} from "./catalog.js"
