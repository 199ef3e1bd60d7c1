/**
 * Testing utilities: a protocol-faithful LM Studio simulator.
 *
 * @since 0.1.0
 */

/**
 * A protocol-faithful LM Studio (HTTP + WebSocket on loopback) with fault injection and a
 * traffic log.
 *
 * @since 0.1.0
 */
export * as LMStudioSimulator from "./LMStudioSimulator.js"

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
