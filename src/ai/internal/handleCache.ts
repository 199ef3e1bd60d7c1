/**
 * The instance a provider talks to: a handle given by the user (used as is: when its instance is
 * gone, requests fail), or a model key resolved with get-or-load on first use and kept; when
 * that instance turns out to be gone (unloaded, TTL expired), the key is resolved again — which
 * loads the model again — and the request retried once, as long as nothing was produced yet.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as SynchronizedRef from "effect/SynchronizedRef"
import type { LMStudioError } from "../../LMStudioError.js"
import type { ModelOptions } from "../../ModelNamespace.js"

export interface HandleCache<H> {
  /** Runs `use` with the handle (see the module's doc for what happens when it is gone). */
  readonly use: <A, E, R>(
    use: (handle: H) => Effect.Effect<A, E | LMStudioError, R>
  ) => Effect.Effect<A, E | LMStudioError, R>
  /** Like `use`, for a stream: retried only if it failed before its first element. */
  readonly useStream: <A, E, R>(
    use: (handle: H) => Stream.Stream<A, E | LMStudioError, R>
  ) => Stream.Stream<A, E | LMStudioError, R>
}

const isGone = (error: unknown): boolean =>
  typeof error === "object" && error !== null && (error as { readonly _tag?: unknown })._tag === "ModelNotFoundError"

/**
 * The cache for a handle or a key of `namespace`. With `unloadOnClose`, a key is resolved with
 * `modelScoped` in the caller's scope, so what the provider loaded is unloaded when it closes.
 */
export const makeHandleCache = <H, Config>(
  source: string | H,
  namespace: {
    readonly model: (key: string, options?: ModelOptions<Config>) => Effect.Effect<H, LMStudioError>
    readonly modelScoped: (key: string, options?: ModelOptions<Config>) => Effect.Effect<H, LMStudioError, Scope.Scope>
  },
  options: { readonly load?: ModelOptions<Config> | undefined; readonly unloadOnClose?: boolean | undefined }
): Effect.Effect<HandleCache<H>, never, Scope.Scope> =>
  Effect.gen(function*() {
    if (typeof source !== "string") {
      return {
        use: (use) => use(source),
        useStream: (use) => use(source)
      } satisfies HandleCache<H>
    }
    const scope = yield* Effect.scope
    const resolve = options.unloadOnClose === true
      ? Scope.extend(namespace.modelScoped(source, options.load), scope)
      : namespace.model(source, options.load)
    const ref = yield* SynchronizedRef.make(Option.none<H>())
    const get = SynchronizedRef.modifyEffect(ref, (current) =>
      Option.match(current, {
        onSome: (handle) => Effect.succeed([handle, current] as const),
        onNone: () => Effect.map(resolve, (handle) => [handle, Option.some(handle)] as const)
      }))
    /** Forgets `handle` (not a newer one another request resolved meanwhile). */
    const forget = (handle: H) =>
      SynchronizedRef.update(ref, (current) => Option.isSome(current) && current.value === handle ? Option.none() : current)

    const use = <A, E, R>(run: (handle: H) => Effect.Effect<A, E | LMStudioError, R>) =>
      Effect.flatMap(get, (handle) =>
        Effect.catchIf(run(handle), isGone, (error) =>
          Effect.zipRight(forget(handle), Effect.flatMap(get, run), { concurrent: false }).pipe(
            Effect.catchIf(isGone, () => Effect.fail(error))
          ))) as Effect.Effect<A, E | LMStudioError, R>

    const useStream = <A, E, R>(run: (handle: H) => Stream.Stream<A, E | LMStudioError, R>) =>
      Stream.unwrap(Effect.map(get, (handle) => {
        let started = false
        return run(handle).pipe(
          Stream.tap(() => Effect.sync(() => (started = true))),
          Stream.catchAll((error) =>
            !started && isGone(error)
              ? Stream.unwrap(Effect.as(forget(handle), Stream.unwrap(Effect.map(get, run))))
              : Stream.fail(error)
          )
        )
      })) as Stream.Stream<A, E | LMStudioError, R>

    return { use, useStream } satisfies HandleCache<H>
  })
