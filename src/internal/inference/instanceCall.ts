/**
 * One RPC on the instance a handle owns: a gone instance becomes the handle's
 * `ModelNotFoundError`, a result of the wrong shape a `ProtocolError`.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import { type LMStudioError, ProtocolError } from "../../LMStudioError.js"
import type { HandleContext } from "../handleContext.js"

/** The identity of a handle's instance, for spans and messages. */
export interface InstanceIdentity {
  readonly identifier: string
  readonly modelKey: string
}

/**
 * Whether a server error says the instance is gone: no loaded model matches its reference
 * (`generic.noModelMatchingQuery`, `generic.specificModelUnloaded`), or LM Studio's own
 * "Model is unloaded." for inference RPCs.
 */
const isGone = (error: LMStudioError): boolean =>
  error._tag === "ModelNotFoundError" || (error._tag === "ServerError" && /^model is unloaded\.?$/i.test(error.title))

/** Reads a result, or says what was expected (`undefined` = wrong shape). */
export type Reader<A> = (result: unknown) => A | undefined

/** Calls `endpoint` on the handle's socket and reads its result. */
export const callInstance = <A>(
  context: HandleContext<InstanceIdentity>,
  endpoint: string,
  parameter: unknown,
  read: Reader<A>,
  expected: string
): Effect.Effect<A, LMStudioError> =>
  context.port.call(endpoint, parameter).pipe(
    Effect.mapError((error) => isGone(error) ? context.gone() : error),
    Effect.flatMap((result) => {
      const value = read(result)
      return value === undefined
        ? Effect.fail(new ProtocolError({ endpoint, detail: `expected ${expected}` }))
        : Effect.succeed(value)
    })
  )

/** A field of an object result, if the result is an object. */
export const field = (result: unknown, name: string): unknown =>
  typeof result === "object" && result !== null ? (result as Record<string, unknown>)[name] : undefined

/**
 * An array of finite numbers, checked by hand: vectors have hundreds of entries and arrive
 * often, a Schema decode per entry would cost more than the rest of the call.
 */
export const numbers = (value: unknown, integers: boolean): ReadonlyArray<number> | undefined => {
  if (!Array.isArray(value)) return undefined
  for (let i = 0; i < value.length; i++) {
    const x: unknown = value[i]
    if (typeof x !== "number" || !Number.isFinite(x) || (integers && !Number.isInteger(x))) return undefined
  }
  return value as ReadonlyArray<number>
}
