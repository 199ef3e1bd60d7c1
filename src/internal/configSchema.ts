/**
 * The machinery shared by the config Schemas (load configs, prediction config): value schemas
 * whose `message` annotation says what a field must be, cross-field rules written once (checked
 * when validating, repaired when reading a server's config), and the validator that turns a
 * parse failure into an `InvalidArgumentError` naming the field.
 *
 * Nothing here knows the wire: the KV keys live in `internal/protocol/`.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as AST from "effect/SchemaAST"
import * as Schema from "effect/Schema"
import { InvalidArgumentError } from "../LMStudioError.js"

// ---------------------------------------------------------------------------------------------
// describing values and annotating schemas
// ---------------------------------------------------------------------------------------------

/** A short, bounded description of a value for an error message. */
export const describeValue = (value: unknown): string => {
  switch (typeof value) {
    case "string":
      return value.length > 40 ? `${JSON.stringify(value.slice(0, 40))}…` : JSON.stringify(value)
    case "number":
      return Object.is(value, -0) ? "-0" : String(value)
    case "bigint":
      return `${value}n`
    case "boolean":
    case "undefined":
    case "symbol":
      return String(value)
    case "function":
      return "a function"
    default:
      return value === null ? "null" : Array.isArray(value) ? `an array of length ${value.length}` : "an object"
  }
}

const actualOf = (issue: ParseResult.ParseIssue): unknown => "actual" in issue ? issue.actual : undefined

/**
 * A `message` annotation: "must be <expected>, got <value>". `override` (the default) makes
 * Schema's own formatters use it even when the failure is inside (a union member, the base of a
 * refinement); objects that hold fields pass `false` so that their fields' messages win.
 */
export const expected = (text: string, override = true): { readonly message: AST.MessageAnnotation } => ({
  message: (issue) => ({ message: `must be ${text}, got ${describeValue(actualOf(issue))}`, override })
})

/** Annotates a schema with what its values must be (see `expected`). */
export const expecting = (text: string, override = true) => <S extends Schema.Schema.Any>(self: S): S =>
  self.annotations(expected(text, override)) as S

/** An optional field that, when present, must not be `undefined`. */
export const exact = <S extends Schema.Schema.All>(self: S): Schema.optionalWith<S, { exact: true }> =>
  Schema.optionalWith(self, { exact: true })

// ---------------------------------------------------------------------------------------------
// value schemas shared by the configs
// ---------------------------------------------------------------------------------------------

export const Bool = Schema.Boolean.pipe(expecting("a boolean"))
export const Str = Schema.String.pipe(expecting("a string"))
export const Strings = Schema.Array(Str).pipe(expecting("an array of strings", false))
export const intAtLeast = (min: number) =>
  Schema.Int.pipe(Schema.greaterThanOrEqualTo(min), expecting(`an integer >= ${min}`))
export const intBetween = (min: number, max: number) =>
  Schema.Int.pipe(Schema.between(min, max), expecting(`an integer between ${min} and ${max}`))
export const NonNegativeInt = intAtLeast(0)
export const PositiveInt = intAtLeast(1)
export const UnitInterval = Schema.Finite.pipe(Schema.between(0, 1), expecting("a number between 0 and 1"))
export const FiniteOrFalse = Schema.Union(Schema.Finite, Schema.Literal(false)).pipe(
  expecting("a finite number or false")
)
export const IntOrFalse = Schema.Union(Schema.Int, Schema.Literal(false)).pipe(expecting("an integer or false"))
export const UnitIntervalOrFalse = Schema.Union(Schema.Finite.pipe(Schema.between(0, 1)), Schema.Literal(false))
  .pipe(expecting("a number between 0 and 1, or false"))

/** `"a"`, `"a" or "b"`, `"a", "b" or "c"`. */
export const oneOf = (values: ReadonlyArray<string | number>): string => {
  const shown = values.map((v) => typeof v === "string" ? `"${v}"` : String(v))
  return shown.length <= 1 ? shown.join("") : `${shown.slice(0, -1).join(", ")} or ${shown[shown.length - 1]}`
}

// ---------------------------------------------------------------------------------------------
// cross-field rules
// ---------------------------------------------------------------------------------------------

/**
 * A rule between fields, written once: `validate` reports it, `repair` makes a config read from
 * a server (which may be stale) satisfy it by dropping a field.
 */
export interface CrossFieldRule<C> {
  /** The field the message is about. */
  readonly field: keyof C & string
  /** Why `config` breaks the rule, or `undefined` when it holds. */
  readonly check: (config: C) => string | undefined
  /** The field dropped to make a config read from a server satisfy the rule. */
  readonly drop: keyof C & string
}

/** A Schema filter reporting every broken rule at its field. */
export const crossFieldIssues = <C>(rules: ReadonlyArray<CrossFieldRule<C>>) => (config: C) => {
  const issues: Array<Schema.FilterIssue> = []
  for (const rule of rules) {
    const message = rule.check(config)
    if (message !== undefined) issues.push({ path: [rule.field], message })
  }
  return issues
}

/** Drops fields, rule by rule, until every rule holds. */
export const repairCrossFields = <C>(rules: ReadonlyArray<CrossFieldRule<C>>, config: C): void => {
  for (const rule of rules) {
    if (rule.check(config) !== undefined) delete (config as Record<string, unknown>)[rule.drop]
  }
}

// ---------------------------------------------------------------------------------------------
// validation: a parse issue → InvalidArgumentError naming the field
// ---------------------------------------------------------------------------------------------

type Leaf = ParseResult.Type | ParseResult.Missing | ParseResult.Unexpected | ParseResult.Forbidden

interface LocatedLeaf {
  readonly path: ReadonlyArray<PropertyKey>
  readonly leaf: Leaf
  /** The innermost issue at this path whose schema has a `message` annotation. */
  readonly annotated: ParseResult.ParseIssue | undefined
}

const toArray = <A>(self: A | ReadonlyArray<A>): ReadonlyArray<A> =>
  Array.isArray(self) ? self as ReadonlyArray<A> : [self as A]

const hasMessage = (issue: ParseResult.ParseIssue): boolean =>
  "ast" in issue && Option.isSome(AST.getMessageAnnotation(issue.ast))

/**
 * The first leaf of an issue tree, with its path. Inside a union the most specific member (the
 * deepest path) wins, so `{ bits: 5 }` in an object-or-false field points at `bits`.
 */
const firstLeaf = (
  issue: ParseResult.ParseIssue,
  path: ReadonlyArray<PropertyKey>,
  annotated: ParseResult.ParseIssue | undefined
): LocatedLeaf => {
  const here = hasMessage(issue) ? issue : annotated
  switch (issue._tag) {
    case "Pointer":
      return firstLeaf(issue.issue, [...path, ...toArray<PropertyKey>(issue.path)], undefined)
    case "Refinement":
    case "Transformation":
      return firstLeaf(issue.issue, path, here)
    case "Composite": {
      const leaves = toArray(issue.issues).map((inner) => firstLeaf(inner, path, here))
      let best = leaves[0] ?? { path, leaf: issue as unknown as Leaf, annotated: here }
      if (issue.ast._tag === "Union") {
        for (const candidate of leaves) {
          if (candidate.path.length > best.path.length) best = candidate
        }
        // No member got further than the union itself: the union says it best (its message,
        // or the list of its literals).
        if (best.path.length === path.length) {
          if (here !== undefined) best = { ...best, annotated: here }
          else if (issue.ast.types.every(AST.isLiteral)) {
            best = { path, leaf: new ParseResult.Type(issue.ast, issue.actual), annotated: undefined }
          }
        }
      }
      return best
    }
    default:
      return { path, leaf: issue, annotated: here }
  }
}

const annotationMessage = (issue: ParseResult.ParseIssue): string | undefined => {
  if (!("ast" in issue)) return undefined
  const annotation = Option.getOrUndefined(AST.getMessageAnnotation(issue.ast))
  const out = annotation?.(issue)
  const message = typeof out === "object" && out !== null && "message" in out ? out.message : out
  return typeof message === "string" ? message : undefined
}

/** "must be "a" or "b", got x" for a literal (or union of literals) without a message of its own. */
const literalsMessage = (leaf: Leaf): string | undefined => {
  if (leaf._tag !== "Type") return undefined
  const members = leaf.ast._tag === "Union" ? leaf.ast.types : [leaf.ast]
  const values: Array<string | number> = []
  for (const member of members) {
    if (member._tag !== "Literal" || (typeof member.literal !== "string" && typeof member.literal !== "number")) {
      return undefined
    }
    values.push(member.literal)
  }
  return `must be ${oneOf(values)}, got ${describeValue(leaf.actual)}`
}

const fieldName = (root: string, path: ReadonlyArray<PropertyKey>): string =>
  path.reduce<string>(
    (acc, key) => typeof key === "number" ? `${acc}[${key}]` : `${acc}.${String(key)}`,
    root
  )

/** How a config kind explains a key it does not know (`path` is the dotted path, no root). */
export type UnknownKeyReason = (path: ReadonlyArray<PropertyKey>) => string

const issueToError = (
  issue: ParseResult.ParseIssue,
  root: string,
  unknownKey: UnknownKeyReason
): InvalidArgumentError => {
  const { annotated, leaf, path } = firstLeaf(issue, [], undefined)
  const field = fieldName(root, path)
  switch (leaf._tag) {
    case "Unexpected":
      return new InvalidArgumentError({ field, reason: unknownKey(path) })
    case "Missing":
      return new InvalidArgumentError({ field, reason: "is required" })
    default: {
      const reason = leaf.message ?? (annotated !== undefined ? annotationMessage(annotated) : undefined) ??
        literalsMessage(leaf) ?? `is invalid, got ${describeValue(leaf.actual)}`
      return new InvalidArgumentError({ field, reason })
    }
  }
}

const isPlainObject = (u: unknown): u is Record<string, unknown> => {
  if (typeof u !== "object" || u === null || Array.isArray(u)) return false
  const proto: unknown = Object.getPrototypeOf(u)
  return proto === Object.prototype || proto === null
}

/** Drops keys whose value is `undefined` (as `JSON.stringify` does on the wire), recursively. */
const dropUndefined = (u: unknown): unknown => {
  if (!isPlainObject(u)) return u
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(u)) {
    if (value !== undefined) out[key] = dropUndefined(value)
  }
  return out
}

const decodeOptions = { onExcessProperty: "error", errors: "all" } as const

/**
 * A validator for a config Schema: unknown keys are rejected, a key whose value is `undefined`
 * counts as absent, and the first bad field fails with an `InvalidArgumentError` such as
 * `{ field: "config.contextLength", reason: "must be an integer >= 1, got 0" }`.
 */
export const makeValidator = <A, I>(
  schema: Schema.Schema<A, I>,
  options: { readonly root: string; readonly unknownKey: UnknownKeyReason }
) => {
  const decode = Schema.decodeUnknownEither(schema, decodeOptions)
  return (input: unknown): Effect.Effect<A, InvalidArgumentError> =>
    Effect.try({
      try: () => decode(dropUndefined(input)),
      catch: (error) =>
        new InvalidArgumentError({ field: options.root, reason: `could not be read (${String(error)})` })
    }).pipe(
      Effect.flatMap(Either.match({
        onLeft: (error) => Effect.fail(issueToError(error.issue, options.root, options.unknownKey)),
        onRight: Effect.succeed
      }))
    )
}
