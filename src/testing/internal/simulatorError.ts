/**
 * @since 0.1.0
 */
import * as Data from "effect/Data"

/**
 * A simulator could not be started (its port is taken, say) or a test-setup call on it (such as
 * `preload`) could not be carried out.
 *
 * @since 0.1.0
 * @category errors
 */
export class SimulatorError extends Data.TaggedError("SimulatorError")<{
  readonly reason: "ModelNotFound" | "IdentifierTaken" | "ListenFailed"
  readonly message: string
}> {}
