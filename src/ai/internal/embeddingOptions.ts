/**
 * The embedding provider's batching options, checked when the provider is built: a bad value
 * makes every request fail with `MalformedInput` naming the option, before any I/O.
 *
 * @internal
 */
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { InvalidArgumentError } from "../../LMStudioError.js"
import { timeout } from "../../internal/validate.js"

const positiveInteger = (field: string, value: unknown): Effect.Effect<void, InvalidArgumentError> =>
  value === undefined || (typeof value === "number" && Number.isSafeInteger(value) && value > 0)
    ? Effect.void
    : Effect.fail(new InvalidArgumentError({ field, reason: `must be a positive whole number, got ${String(value)}` }))

const positiveDuration = (field: string, value: Duration.DurationInput | undefined) =>
  value === undefined ? Effect.void : timeout(field, value)

/** Fails with the first bad option. */
export const checkEmbeddingOptions = (options: {
  readonly maxBatchSize?: number | undefined
  readonly window?: Duration.DurationInput | undefined
  readonly cache?: { readonly capacity: number; readonly timeToLive: Duration.DurationInput } | undefined
}): Effect.Effect<void, InvalidArgumentError> =>
  Effect.all([
    positiveInteger("maxBatchSize", options.maxBatchSize),
    positiveDuration("window", options.window),
    options.cache === undefined ? Effect.void : Effect.all([
      positiveInteger("cache.capacity", options.cache.capacity),
      positiveDuration("cache.timeToLive", options.cache.timeToLive),
      options.window === undefined
        ? Effect.void
        : Effect.fail(new InvalidArgumentError({ field: "cache", reason: "cannot be combined with window: choose one" }))
    ], { discard: true })
  ], { discard: true })
