/**
 * The instance a provider talks to: a handle given by the user (used as is), or a model key
 * resolved with get-or-load on first use and kept until the instance is found gone, so that the
 * next request loads it again.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as SynchronizedRef from "effect/SynchronizedRef"
import type { LMStudioError } from "../../LMStudioError.js"

export interface HandleCache<H> {
  /** The handle, resolving it if needed (failures are not remembered). */
  readonly get: Effect.Effect<H, LMStudioError>
  /** Runs `use` with the handle; if the instance turns out to be gone, the next `get` resolves again. */
  readonly use: <A, E, R>(use: (handle: H) => Effect.Effect<A, E | LMStudioError, R>) => Effect.Effect<A, E | LMStudioError, R>
  /** Forgets a resolved handle when `error` says its instance is gone. */
  readonly forgetIfGone: (error: unknown) => Effect.Effect<void>
}

const isGone = (error: unknown): boolean =>
  typeof error === "object" && error !== null && (error as { readonly _tag?: unknown })._tag === "ModelNotFoundError"

export const makeHandleCache = <H>(
  source: { readonly _tag: "Handle"; readonly handle: H } | { readonly _tag: "Resolve"; readonly resolve: Effect.Effect<H, LMStudioError> }
): Effect.Effect<HandleCache<H>> =>
  Effect.gen(function*() {
    if (source._tag === "Handle") {
      const get = Effect.succeed(source.handle)
      return {
        get,
        use: (use) => use(source.handle),
        forgetIfGone: () => Effect.void
      } satisfies HandleCache<H>
    }
    const ref = yield* SynchronizedRef.make(Option.none<H>())
    const get = SynchronizedRef.modifyEffect(ref, (current) =>
      Option.match(current, {
        onSome: (handle) => Effect.succeed([handle, current] as const),
        onNone: () => Effect.map(source.resolve, (handle) => [handle, Option.some(handle)] as const)
      }))
    const forgetIfGone = (error: unknown) => isGone(error) ? SynchronizedRef.set(ref, Option.none()) : Effect.void
    return {
      get,
      use: (use) => Effect.flatMap(get, (handle) => Effect.tapError(use(handle), forgetIfGone)),
      forgetIfGone
    } satisfies HandleCache<H>
  })
