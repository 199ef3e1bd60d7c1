/**
 * Decoders for the plain JSON shapes LM Studio sends (model infos, load packets), compiled once
 * from a Schema's AST: structs of strings, numbers, booleans, literals and `null`, optional
 * fields, nested structs, arrays and unions of these. A value is checked and copied in one pass
 * instead of going through the Schema's parse tree (on a `listLoaded` result, the decode cost
 * more than parsing the JSON).
 *
 * Whatever the fast path accepts, it returns exactly what the Schema's decode returns (the
 * Schema's keys only, in its order, excess properties dropped); anything it rejects, and any
 * Schema with parts it does not know (refinements, transformations, classes, …), goes through
 * the Schema itself, so errors and unusual input are decoded as before. A property test holds
 * the two to that.
 *
 * @internal
 */
import type * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type * as SchemaAST from "effect/SchemaAST"

/** What a fast check returns when it does not accept a value. */
const REJECT: unique symbol = Symbol("lmstudio-effect/fastDecode/reject")

type Fast = (u: unknown) => unknown

const isObject = (u: unknown): u is Record<PropertyKey, unknown> =>
  typeof u === "object" && u !== null && !Array.isArray(u)

/** Primitive members yield the input itself, so which member accepts a value does not matter. */
const isPrimitive = (ast: SchemaAST.AST): boolean =>
  ast._tag === "StringKeyword" || ast._tag === "NumberKeyword" || ast._tag === "BooleanKeyword" ||
  ast._tag === "UndefinedKeyword" || ast._tag === "Literal"

const compileStruct = (ast: SchemaAST.TypeLiteral): Fast | undefined => {
  if (ast.indexSignatures.length > 0) return undefined
  const properties: Array<{ readonly name: PropertyKey; readonly optional: boolean; readonly decode: Fast }> = []
  for (const signature of ast.propertySignatures) {
    const decode = compile(signature.type)
    if (decode === undefined) return undefined
    properties.push({ name: signature.name, optional: signature.isOptional, decode })
  }
  return (u) => {
    if (!isObject(u)) return REJECT
    const out: Record<PropertyKey, unknown> = {}
    for (const { decode, name, optional } of properties) {
      if (!Object.hasOwn(u, name)) {
        if (optional) continue
        return REJECT // the Schema decides (it may accept `undefined` for a missing key)
      }
      const value = decode(u[name])
      if (value === REJECT) return REJECT
      out[name] = value
    }
    return out
  }
}

const compileUnion = (ast: SchemaAST.Union): Fast | undefined => {
  const members: Array<Fast> = []
  for (const type of ast.types) {
    const decode = compile(type)
    if (decode === undefined) return undefined
    members.push(decode)
  }
  const structured = ast.types.filter((type) => !isPrimitive(type)).length
  if (structured <= 1) {
    // Objects and primitives never accept the same value: the first member that accepts wins.
    return (u) => {
      for (const decode of members) {
        const value = decode(u)
        if (value !== REJECT) return value
      }
      return REJECT
    }
  }
  // Several object members: accepted only when exactly one of them accepts (otherwise which one
  // the Schema picks is its business).
  return (u) => {
    let found: unknown = REJECT
    for (const decode of members) {
      const value = decode(u)
      if (value === REJECT) continue
      if (found !== REJECT) return REJECT
      found = value
    }
    return found
  }
}

const compileArray = (ast: SchemaAST.TupleType): Fast | undefined => {
  if (ast.elements.length > 0 || ast.rest.length !== 1) return undefined
  const item = compile(ast.rest[0]!.type)
  if (item === undefined) return undefined
  return (u) => {
    if (!Array.isArray(u)) return REJECT
    const out: Array<unknown> = new Array(u.length)
    for (let i = 0; i < u.length; i++) {
      const value = item(u[i])
      if (value === REJECT) return REJECT
      out[i] = value
    }
    return out
  }
}

/** The fast check of `ast`, or `undefined` when it has parts this module does not handle. */
const compile = (ast: SchemaAST.AST): Fast | undefined => {
  switch (ast._tag) {
    case "StringKeyword":
      return (u) => (typeof u === "string" ? u : REJECT)
    case "NumberKeyword":
      return (u) => (typeof u === "number" ? u : REJECT)
    case "BooleanKeyword":
      return (u) => (typeof u === "boolean" ? u : REJECT)
    case "UndefinedKeyword":
      return (u) => (u === undefined ? u : REJECT)
    case "Literal": {
      const literal = ast.literal
      return (u) => (u === literal ? u : REJECT)
    }
    case "TypeLiteral":
      return compileStruct(ast)
    case "Union":
      return compileUnion(ast)
    case "TupleType":
      return compileArray(ast)
    default:
      return undefined
  }
}

/**
 * Like `Schema.decodeUnknownEither(schema)` (default options), with the fast path in front. Both
 * are compiled on first use, so that importing the package does not pay for decoders it never
 * runs.
 */
export const decodeUnknownEither = <A, I>(
  schema: Schema.Schema<A, I, never>
): (u: unknown) => Either.Either<A, ParseResult.ParseError> => {
  let slow: ((u: unknown) => Either.Either<A, ParseResult.ParseError>) | undefined
  let fast: Fast | undefined | null
  return (u) => {
    if (fast === undefined) fast = compile(schema.ast) ?? null
    if (fast !== null) {
      const value = fast(u)
      if (value !== REJECT) return Either.right(value as A)
    }
    slow ??= Schema.decodeUnknownEither(schema)
    return slow(u)
  }
}

/** Like `Schema.decodeUnknown(schema)` (default options), with the fast path in front. */
export const decodeUnknown = <A, I>(
  schema: Schema.Schema<A, I, never>
): (u: unknown) => Effect.Effect<A, ParseResult.ParseError> => decodeUnknownEither(schema)

/** Whether `schema` has a fast path (all its parts are ones this module handles). */
export const hasFastPath = (schema: Schema.Schema.AnyNoContext): boolean => compile(schema.ast) !== undefined
