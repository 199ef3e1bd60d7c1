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

/** Sets attributes on the current span when spans are being collected (`attributes` is called only then). */
export const annotateAll = (attributes: () => Record<string, unknown>): Effect.Effect<void> =>
  Effect.tracerWith((tracer) => tracer === builtInTracer ? Effect.void : Effect.annotateCurrentSpan(attributes()))

/**
 * `stream` in a client span that covers its whole run when a tracer collects spans. Without one,
 * the stream is given as is (one `unwrap` step): each extra Stream layer costs a channel in every
 * pull.
 */
export const streamWithClientSpan = <A, E, R>(
  name: string,
  attributes: Record<string, unknown> | undefined,
  stream: Stream.Stream<A, E, R>
): Stream.Stream<A, E, R> =>
  Stream.unwrap(Effect.tracerWith((tracer) =>
    Effect.succeed(
      tracer === builtInTracer ? stream : Stream.withSpan(stream, name, {
        kind: "client",
        captureStackTrace: false,
        ...(attributes === undefined ? {} : { attributes })
      })
    )
  ))
