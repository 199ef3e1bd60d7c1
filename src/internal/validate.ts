/**
 * Argument checks that run before any I/O, each failing with an `InvalidArgumentError` that names
 * the field.
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { InvalidArgumentError } from "../LMStudioError.js"

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/

/** A "reasonable key string": 1–1024 chars, no control characters. */
export const keyString = (field: string, value: unknown): Effect.Effect<string, InvalidArgumentError> => {
  const fail = (reason: string) => Effect.fail(new InvalidArgumentError({ field, reason }))
  if (typeof value !== "string") return fail(`must be a string, got ${typeof value}`)
  if (value.length === 0) return fail("must not be empty")
  if (value.length > 1024) return fail(`must be at most 1024 characters, got ${value.length}`)
  if (value === "__proto__") return fail(`must not be "__proto__"`)
  if (CONTROL.test(value)) return fail("must not contain control characters")
  return Effect.succeed(value)
}

const describe = (input: unknown): string => {
  try {
    return typeof input === "number" ? String(input) : JSON.stringify(input) ?? String(input)
  } catch {
    return String(input)
  }
}

/**
 * Why a bare number is refused as a TTL: LM Studio's official SDKs read `ttl: 3600` as seconds,
 * Effect reads a number as milliseconds, so a ported `ttl: 3600` would unload after 3.6 s.
 */
const bareNumberTtl = (value: number): string => {
  const seconds = Number.isFinite(value) && value > 0 ? `"${value} seconds" or Duration.seconds(${value})` : `"1 hour"`
  return `must be a Duration, not a bare number (got ${describe(value)}): LM Studio's official SDKs read ` +
    `a number as seconds and Effect reads it as milliseconds, so it is ambiguous. Write the unit: "1 hour", ` +
    `"30 minutes", Duration.hours(1)${seconds === `"1 hour"` ? "" : `, or ${seconds} if you meant seconds`}`
}

/**
 * A positive duration in whole milliseconds ≥ 1 (what `ttlMs` accepts on the wire). Bare numbers
 * are refused (see `bareNumberTtl`).
 */
export const ttlMillis = (
  field: string,
  input: unknown
): Effect.Effect<number | undefined, InvalidArgumentError> => {
  if (input === undefined) return Effect.succeed(undefined)
  const fail = (reason: string) => Effect.fail(new InvalidArgumentError({ field, reason }))
  if (typeof input === "number") return fail(bareNumberTtl(input))
  const decoded = Duration.decodeUnknown(input)
  if (Option.isNone(decoded)) return fail(`is not a duration: ${describe(input)} (write e.g. "1 hour" or Duration.hours(1))`)
  const duration = decoded.value
  if (!Duration.isFinite(duration)) return fail("must be finite")
  const millis = Duration.toMillis(duration)
  if (Number.isNaN(millis)) return fail("must be a number of milliseconds, got NaN")
  if (millis <= 0) return fail(`must be positive, got ${describe(input)}`)
  if (!Number.isInteger(millis)) return fail(`must be a whole number of milliseconds, got ${millis} ms`)
  return Effect.succeed(millis)
}

/** A positive timeout; `Duration.infinity` switches it off. */
export const timeout = (
  field: string,
  input: Duration.DurationInput
): Effect.Effect<Duration.Duration, InvalidArgumentError> => {
  const decoded = Duration.decodeUnknown(input)
  if (Option.isNone(decoded)) {
    return Effect.fail(new InvalidArgumentError({ field, reason: `is not a duration: ${describe(input)}` }))
  }
  const millis = Duration.toMillis(decoded.value)
  if (Number.isNaN(millis) || millis <= 0) {
    return Effect.fail(new InvalidArgumentError({ field, reason: `must be positive, got ${describe(input)}` }))
  }
  return Effect.succeed(decoded.value)
}
