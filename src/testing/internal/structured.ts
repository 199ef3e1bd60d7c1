/**
 * A JSON value valid for a JSON Schema, for structured output and tool-call
 * arguments. Deterministic for a given random source. Covers what schema generators
 * (zod-to-json-schema, `effect/JSONSchema`, pydantic) emit: objects, arrays and tuples,
 * strings (lengths and common formats), numbers and integers (bounds, `multipleOf`), booleans,
 * null, `enum`, `const`, `anyOf` / `oneOf` (the first usable branch), `allOf` (merged),
 * nullable type arrays and local `$ref`s. `pattern` is not honoured.
 *
 * @internal
 */
import { pick, type Random } from "./generation.js"

type JsonSchema = { readonly [key: string]: unknown }

const FALLBACK_WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"]

/** Deeper than this, recursion takes the smallest valid value (empty arrays, required keys only). */
const MAX_DEPTH = 6

const isSchema = (value: unknown): value is JsonSchema =>
  typeof value === "object" && value !== null && !Array.isArray(value)

const numberOr = (value: unknown, fallback: number): number => typeof value === "number" ? value : fallback

/** Resolves a local reference (`#`, `#/definitions/x`, `#/$defs/x`, any JSON pointer into the root). */
const resolveRef = (root: unknown, ref: string): unknown => {
  if (!ref.startsWith("#")) return {}
  const path = ref.slice(1).split("/").filter((s) => s.length > 0)
  let node: unknown = root
  for (const raw of path) {
    const key = raw.replace(/~1/g, "/").replace(/~0/g, "~")
    node = isSchema(node) ? node[key] : Array.isArray(node) ? node[Number(key)] : undefined
  }
  return node ?? {}
}

/** Merges `allOf` branches into one schema (properties and required lists combined). */
const mergeAll = (schema: JsonSchema, root: unknown): JsonSchema => {
  const branches = (schema["allOf"] as ReadonlyArray<unknown>).map((b) => deref(b, root))
  const { allOf: _, ...rest } = schema
  let merged: JsonSchema = rest
  for (const branch of branches) {
    if (!isSchema(branch)) continue
    merged = {
      ...branch,
      ...merged,
      properties: { ...(branch["properties"] as object), ...(merged["properties"] as object) },
      required: [...((branch["required"] as Array<string>) ?? []), ...((merged["required"] as Array<string>) ?? [])]
    }
  }
  return merged
}

const deref = (schema: unknown, root: unknown): unknown => {
  let node = schema
  for (let hops = 0; hops < 16 && isSchema(node) && typeof node["$ref"] === "string"; hops++) {
    const { $ref, ...rest } = node
    const target = resolveRef(root, $ref as string)
    node = isSchema(target) ? { ...target, ...rest } : target
  }
  return node
}

const typeOf = (schema: JsonSchema): string => {
  const type = schema["type"]
  if (typeof type === "string") return type
  if (Array.isArray(type)) {
    const concrete = type.find((t) => t !== "null")
    return typeof concrete === "string" ? concrete : "null"
  }
  if (isSchema(schema["properties"]) || schema["required"] !== undefined) return "object"
  if (schema["items"] !== undefined || schema["prefixItems"] !== undefined) return "array"
  return "string"
}

const FORMATS: Readonly<Record<string, (rng: Random) => string>> = {
  "date-time": () => "2026-01-15T12:00:00.000Z",
  date: () => "2026-01-15",
  time: () => "12:00:00",
  email: (rng) => `${pick(rng, FALLBACK_WORDS)}@example.com`,
  uri: (rng) => `https://example.com/${pick(rng, FALLBACK_WORDS)}`,
  url: (rng) => `https://example.com/${pick(rng, FALLBACK_WORDS)}`,
  uuid: (rng) => {
    const hex = Array.from({ length: 32 }, () => Math.floor(rng() * 16).toString(16)).join("")
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20)}`
  },
  ipv4: () => "127.0.0.1",
  ipv6: () => "::1",
  hostname: () => "example.com"
}

const stringFor = (schema: JsonSchema, rng: Random, words: ReadonlyArray<string>): string => {
  const format = typeof schema["format"] === "string" ? FORMATS[schema["format"]] : undefined
  let text = format !== undefined ? format(rng) : pick(rng, words)
  const min = numberOr(schema["minLength"], 0)
  const max = numberOr(schema["maxLength"], Infinity)
  while (text.length < min) text += ` ${pick(rng, words)}`
  return text.length > max ? text.slice(0, max) : text
}

const numberFor = (schema: JsonSchema, rng: Random, integer: boolean): number => {
  const exclusiveMin = schema["exclusiveMinimum"]
  const exclusiveMax = schema["exclusiveMaximum"]
  const step = typeof schema["multipleOf"] === "number" && schema["multipleOf"] > 0
    ? schema["multipleOf"]
    : integer
    ? 1
    : 0.01
  // Draft 4 spells exclusive bounds as booleans next to minimum/maximum.
  const low = typeof exclusiveMin === "number"
    ? exclusiveMin + step
    : numberOr(schema["minimum"], 0) + (exclusiveMin === true ? step : 0)
  const high = typeof exclusiveMax === "number"
    ? exclusiveMax - step
    : numberOr(schema["maximum"], Math.max(low, 0) + 100) - (exclusiveMax === true ? step : 0)
  const lowStep = Math.ceil(low / step)
  const highStep = Math.max(lowStep, Math.floor(high / step))
  const n = lowStep + Math.floor(rng() * (highStep - lowStep + 1))
  const value = n * step
  return Number(value.toFixed(10))
}

const arrayFor = (schema: JsonSchema, rng: Random, words: ReadonlyArray<string>, root: unknown, depth: number) => {
  const tuple = Array.isArray(schema["prefixItems"])
    ? schema["prefixItems"]
    : Array.isArray(schema["items"])
    ? schema["items"]
    : undefined
  if (tuple !== undefined) return tuple.map((item) => valueFor(item, rng, words, root, depth + 1))
  const min = numberOr(schema["minItems"], 0)
  const max = numberOr(schema["maxItems"], Infinity)
  const wanted = depth >= MAX_DEPTH ? 0 : 1 + Math.floor(rng() * 3)
  const length = Math.max(min, Math.min(max, wanted))
  const items: Array<unknown> = []
  const seen = new Set<string>()
  for (let attempt = 0; items.length < length && attempt < length * 8; attempt++) {
    const item = valueFor(schema["items"] ?? {}, rng, words, root, depth + 1)
    const key = JSON.stringify(item)
    if (schema["uniqueItems"] === true && seen.has(key)) continue
    seen.add(key)
    items.push(item)
  }
  return items
}

const objectFor = (schema: JsonSchema, rng: Random, words: ReadonlyArray<string>, root: unknown, depth: number) => {
  const properties = isSchema(schema["properties"]) ? schema["properties"] : {}
  const required = Array.isArray(schema["required"]) ? schema["required"].filter((k) => typeof k === "string") : []
  const keys = depth >= MAX_DEPTH ? required : [...new Set([...Object.keys(properties), ...required])]
  const result: Record<string, unknown> = {}
  for (const key of keys) result[key] = valueFor(properties[key] ?? {}, rng, words, root, depth + 1)
  const extra = schema["additionalProperties"]
  if (keys.length === 0 && isSchema(extra) && depth < MAX_DEPTH) {
    result[pick(rng, words)] = valueFor(extra, rng, words, root, depth + 1)
  }
  return result
}

const valueFor = (
  raw: unknown,
  rng: Random,
  words: ReadonlyArray<string>,
  root: unknown,
  depth: number
): unknown => {
  const resolved = deref(raw, root)
  if (resolved === true || !isSchema(resolved)) return resolved === false ? null : pick(rng, words)
  const schema = Array.isArray(resolved["allOf"]) ? mergeAll(resolved, root) : resolved
  if ("const" in schema) return schema["const"]
  if (Array.isArray(schema["enum"]) && schema["enum"].length > 0) return pick(rng, schema["enum"])
  const branches = schema["anyOf"] ?? schema["oneOf"]
  if (Array.isArray(branches) && branches.length > 0) {
    // The first branch that is not plain null (so nullable values carry data) [inferred choice].
    const chosen = branches.find((b) => !(isSchema(b) && b["type"] === "null")) ?? branches[0]
    const { anyOf: _a, oneOf: _o, ...rest } = schema
    const branch = deref(chosen, root)
    return valueFor(isSchema(branch) ? { ...rest, ...branch } : branch, rng, words, root, depth)
  }
  switch (typeOf(schema)) {
    case "object":
      return objectFor(schema, rng, words, root, depth)
    case "array":
      return arrayFor(schema, rng, words, root, depth)
    case "integer":
      return numberFor(schema, rng, true)
    case "number":
      return numberFor(schema, rng, false)
    case "boolean":
      return rng() < 0.5
    case "null":
      return null
    default:
      return stringFor(schema, rng, words)
  }
}

/**
 * A value valid for `schema` (`true` or `{}`: any JSON, here an object with one string).
 * `words` (for example the words of the prompt) supply string values.
 */
export const jsonValueFor = (schema: unknown, rng: Random, words: ReadonlyArray<string>): unknown => {
  const vocabulary = words.length > 0 ? words : FALLBACK_WORDS
  if (schema === true || (isSchema(schema) && Object.keys(schema).every((k) => k.startsWith("$")))) {
    return { answer: pick(rng, vocabulary) }
  }
  return valueFor(schema, rng, vocabulary, schema, 0)
}

/** Plain words of a text, usable as string values. */
export const wordsOf = (text: string): Array<string> =>
  [...new Set(text.match(/\p{L}{3,}/gu) ?? [])].slice(0, 64)
