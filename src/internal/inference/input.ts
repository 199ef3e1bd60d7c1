/**
 * Checks of the texts given to `embed` / `tokenize` / `countTokens`, before any frame is sent.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import { InvalidArgumentError } from "../../LMStudioError.js"

const typeName = (u: unknown): string => (u === null ? "null" : Array.isArray(u) ? "an array" : typeof u)

/** One text or several: which one the caller gave, and the texts. */
export type Texts =
  | { readonly many: false; readonly texts: readonly [string] }
  | { readonly many: true; readonly texts: ReadonlyArray<string> }

export interface TextRules {
  /** The argument's name in messages (`text` / `texts[i]`). */
  readonly field: string
  /** Whether "" is refused (embeddings of nothing mean nothing). */
  readonly allowEmpty: boolean
  /** Whether `[]` is refused. */
  readonly allowNoTexts: boolean
}

const checkOne = (field: string, value: unknown, allowEmpty: boolean): InvalidArgumentError | undefined => {
  if (typeof value !== "string") return new InvalidArgumentError({ field, reason: `must be a string, got ${typeName(value)}` })
  if (!allowEmpty && value.length === 0) return new InvalidArgumentError({ field, reason: "must not be empty" })
  return undefined
}

/** A string, or a non-empty array of strings; the failing element is named by its index. */
export const texts = (input: unknown, rules: TextRules): Effect.Effect<Texts, InvalidArgumentError> => {
  if (!Array.isArray(input)) {
    const error = checkOne(rules.field, input, rules.allowEmpty)
    return error === undefined
      ? Effect.succeed({ many: false, texts: [input as string] })
      : Effect.fail(error)
  }
  if (input.length === 0 && !rules.allowNoTexts) {
    return Effect.fail(new InvalidArgumentError({ field: `${rules.field}s`, reason: "must contain at least one text" }))
  }
  for (let i = 0; i < input.length; i++) {
    const error = checkOne(`${rules.field}s[${i}]`, input[i], rules.allowEmpty)
    if (error !== undefined) return Effect.fail(error)
  }
  return Effect.succeed({ many: true, texts: input as ReadonlyArray<string> })
}

/** A single text (no arrays). */
export const text = (field: string, input: unknown, allowEmpty: boolean): Effect.Effect<string, InvalidArgumentError> => {
  const error = checkOne(field, input, allowEmpty)
  return error === undefined ? Effect.succeed(input as string) : Effect.fail(error)
}

/** A whole number ≥ 1, or the default when absent. */
export const concurrency = (input: unknown, fallback: number): Effect.Effect<number, InvalidArgumentError> => {
  if (input === undefined) return Effect.succeed(fallback)
  return typeof input === "number" && Number.isInteger(input) && input >= 1
    ? Effect.succeed(input)
    : Effect.fail(
      new InvalidArgumentError({ field: "concurrency", reason: `must be a whole number of at least 1, got ${String(input)}` })
    )
}

/**
 * Runs `one` for a single text, or for each of several texts with at most `concurrency` in
 * flight (results in input order). Every argument is checked before `one` runs.
 */
export const forText = <A, E>(
  input: unknown,
  rules: TextRules,
  options: { readonly concurrency?: number | undefined } | undefined,
  defaultConcurrency: number,
  one: (text: string) => Effect.Effect<A, E>
): Effect.Effect<A | ReadonlyArray<A>, E | InvalidArgumentError> =>
  Effect.flatMap(
    Effect.zip(texts(input, rules), concurrency(options?.concurrency, defaultConcurrency)),
    ([given, limit]): Effect.Effect<A | ReadonlyArray<A>, E> =>
      given.many ? Effect.forEach(given.texts, one, { concurrency: limit }) : one(given.texts[0])
  )
