/**
 * @since 0.1.0
 */
import * as Data from "effect/Data"

/**
 * A test-setup call on the simulator (such as `preload`) could not be carried out.
 *
 * @since 0.1.0
 * @category errors
 */
export class SimulatorError extends Data.TaggedError("SimulatorError")<{
  readonly reason: "ModelNotFound" | "IdentifierTaken"
  readonly message: string
}> {}
