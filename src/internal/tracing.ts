/**
 * Client spans that cost nothing when nobody collects them.
 *
 * Effect's built-in tracer creates spans that are never exported; building one per operation
 * (ids, attribute maps, clock reads, a context copy) was the largest single cost of an RPC. So
 * spans are created only when a real tracer (OpenTelemetry, a test tracer, …) is installed.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import type * as Scope from "effect/Scope"
import type * as Tracer from "effect/Tracer"

/** The tracer every Effect program has unless one is provided. */
const builtInTracer: Tracer.Tracer = Effect.runSync(Effect.tracer)

/** Wraps `effect` in a client span named `name`, unless only the built-in tracer is installed. */
export const withClientSpan = (
  name: string,
  attributes?: Record<string, unknown>
) =>
<A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.tracerWith((tracer) =>
    tracer === builtInTracer
      ? effect
      : Effect.withSpan(effect, name, {
        kind: "client",
        captureStackTrace: false,
        ...(attributes === undefined ? {} : { attributes })
      })
  )

/** Sets an attribute on the current span when spans are being collected. */
export const annotate = (key: string, value: unknown): Effect.Effect<void> =>
  Effect.tracerWith((tracer) => tracer === builtInTracer ? Effect.void : Effect.annotateCurrentSpan(key, value))

/**
 * A stream made by a scoped effect (`Stream.unwrapScoped`), in a client span that covers its
 * whole run when a tracer collects spans. Without one, the stream is a single `unwrapScoped`
 * layer: each extra layer costs a channel in every pull (measured: a third of a prediction
 * stream's time to first fragment).
 */
export const unwrapScopedWithClientSpan = <A, E, R, E2, R2>(
  name: string,
  attributes: Record<string, unknown> | undefined,
  make: Effect.Effect<Stream.Stream<A, E, R>, E2, R2>
): Stream.Stream<A, E | E2, Exclude<R2, Scope.Scope> | R> =>
  Stream.unwrapScoped(Effect.tracerWith((tracer): Effect.Effect<Stream.Stream<A, E | E2, R | Exclude<R2, Scope.Scope>>, E2, R2> =>
    tracer === builtInTracer
      ? make
      : Effect.succeed(
        Stream.withSpan(Stream.unwrapScoped(make), name, {
          kind: "client",
          captureStackTrace: false,
          ...(attributes === undefined ? {} : { attributes })
        })
      )
  ))
