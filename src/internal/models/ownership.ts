/**
 * Instances owned by scopes (`loadNewInstanceScoped`, `modelScoped`), keyed by instance
 * reference: a scope unloads the instance it owns, never another one that reused its identifier.
 * Several scopes may share one instance (concurrent `modelScoped` calls that shared its load); it
 * is unloaded when the last of them closes, or when the client closes first.
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type { LMStudioError } from "../../LMStudioError.js"
import type * as LoadEvent from "../../LoadEvent.js"
import { retryOnFreshConnection } from "./handle.js"

interface Owned {
  readonly identifier: string
  /** How many open scopes own it. */
  shares: number
}

export interface Ownership {
  /**
   * Runs `load` so that the instance it delivers, if loaded by this call, is owned by the current
   * scope: the finalizer is added first, and ownership is recorded by `own` in the same
   * synchronous step that delivers the handle.
   */
  readonly scoped: <Handle, E>(
    load: (own: (loaded: LoadEvent.Loaded<Handle>) => void) => Effect.Effect<LoadEvent.Loaded<Handle>, E>
  ) => Effect.Effect<LoadEvent.Loaded<Handle>, E, Scope.Scope>
  /** Unloads every instance still owned by an open scope (the client is closing). */
  readonly releaseAll: Effect.Effect<void>
}

export const make = (
  unloadInstance: (instanceReference: string, identifier: string) => Effect.Effect<void, LMStudioError>,
  releaseTimeout: Duration.Duration
): Ownership => {
  const owned = new Map<string, Owned>()

  /** Unloads an owned instance, if it is still loaded, in bounded time; failures are ignored. */
  const unload = (instanceReference: string, identifier: string) =>
    unloadInstance(instanceReference, identifier).pipe(
      retryOnFreshConnection,
      // Runs in finalizers, which are uninterruptible: without this the timeout could not stop
      // an unload the server never answers.
      Effect.interruptible,
      Effect.timeout(releaseTimeout),
      Effect.ignore
    )

  const release = (instanceReference: string) =>
    Effect.suspend(() => {
      const entry = owned.get(instanceReference)
      if (entry === undefined || --entry.shares > 0) return Effect.void
      owned.delete(instanceReference)
      return unload(instanceReference, entry.identifier)
    })

  const scoped: Ownership["scoped"] = (load) =>
    Effect.gen(function*() {
      let ownedHere: string | undefined
      yield* Effect.addFinalizer(() => ownedHere === undefined ? Effect.void : release(ownedHere))
      return yield* load((loaded) => {
        if (!loaded.loadedByThisCall) return
        const { identifier, instanceReference } = (loaded.handle as { readonly info: Info }).info
        const entry = owned.get(instanceReference)
        if (entry === undefined) owned.set(instanceReference, { identifier, shares: 1 })
        else entry.shares++
        ownedHere = instanceReference
      })
    })

  const releaseAll = Effect.suspend(() => {
    const entries = [...owned]
    owned.clear()
    return Effect.forEach(entries, ([reference, { identifier }]) => unload(reference, identifier), {
      concurrency: "unbounded",
      discard: true
    })
  })

  return { scoped, releaseAll }
}

interface Info {
  readonly identifier: string
  readonly instanceReference: string
}
