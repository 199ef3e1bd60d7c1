/**
 * Config ↔ KV fields, driven by one table per config kind. A table is the ordered list of the KV
 * fields a config can produce (the official client's order); each row knows its full key, how
 * to write its value from a config and how to read it back. Encoding walks the table and emits
 * only the rows whose value is set; decoding reads every row it finds and skips values that do
 * not fit the field's Schema, so reading a server's config never throws.
 *
 * @internal
 */
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type { KVConfig, KVConfigField } from "./kvConfig.js"

/** One KV field of a table. */
export interface KVRow<C> {
  /** The full dotted key, e.g. `llm.prediction.temperature`. */
  readonly key: string
  /** The wire value for a config, or `undefined` when the field is not sent. */
  readonly write: (config: C) => unknown
  /** Reads a wire value into the config being built; a value that does not fit is skipped. */
  readonly read: (value: unknown, into: Record<string, unknown>) => void
}

/** How one config field is carried in one KV value. */
export interface Codec<A> {
  readonly encode: (value: A) => unknown
  readonly decode: (raw: unknown) => A | undefined
}

type AnySchema = Schema.Schema<any, any, never>

const isObject = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null

/**
 * The value as it is: decoded with the field's Schema; objects are re-encoded through it, so a
 * key the Schema does not know never reaches the wire.
 */
export const plain = <A>(schema: Schema.Schema<A, any, never>): Codec<A> => {
  const decode = Schema.decodeUnknownOption(schema)
  const encode = Schema.encodeSync(schema)
  return {
    encode: (value) => isObject(value) ? encode(value) : value,
    decode: (raw) => Option.getOrUndefined(decode(raw))
  }
}

/**
 * LM Studio's checkbox form: `false` → `{ checked: false, value: placeholder }`,
 * `x` → `{ checked: true, value: x }`.
 */
export const checkbox = <A>(schema: Schema.Schema<A, any, never>, placeholder: unknown): Codec<A> => {
  const decode = Schema.decodeUnknownOption(schema)
  return {
    encode: (value) => value === false ? { checked: false, value: placeholder } : { checked: true, value },
    decode: (raw) => {
      if (!isObject(raw)) return undefined
      if (raw["checked"] === false) return false as A
      if (raw["checked"] !== true || raw["value"] === false) return undefined
      return Option.getOrUndefined(decode(raw["value"]))
    }
  }
}

type ExactFields = { readonly [K in string]: Schema.optionalWith<AnySchema, { exact: true }> }

/**
 * Row builders for a config Struct's fields: `field(name, key)` carries one field in one key,
 * with the field's own Schema deciding what reads back.
 */
export const rowsFor = <F extends ExactFields>(fields: F) => {
  type C = Schema.Struct.Type<F>
  const row = <K extends keyof C & string>(name: K, key: string, codec: Codec<Exclude<C[K], undefined>>): KVRow<C> => ({
    key,
    write: (config) => config[name] === undefined ? undefined : codec.encode(config[name] as Exclude<C[K], undefined>),
    read: (value, into) => {
      const decoded = codec.decode(value)
      if (decoded !== undefined) into[name] = decoded
    }
  })
  return {
    /** The field's value as it is. */
    field: <K extends keyof C & string>(name: K, key: string): KVRow<C> =>
      row(name, key, plain(fields[name]!.from as Schema.Schema<Exclude<C[K], undefined>, any, never>)),
    /** The field in checkbox form; `false` sends `placeholder` unchecked. */
    checkbox: <K extends keyof C & string>(name: K, key: string, placeholder: unknown): KVRow<C> =>
      row(name, key, checkbox(fields[name]!.from as Schema.Schema<Exclude<C[K], undefined>, any, never>, placeholder)),
    /** The field with a codec of its own. */
    custom: row
  }
}

/** The KV fields of a config: the rows whose value is set, in table order. */
export const writeRows = <C>(rows: ReadonlyArray<KVRow<C>>, config: C): Array<KVConfigField> => {
  const fields: Array<KVConfigField> = []
  for (const row of rows) {
    const value = row.write(config)
    if (value !== undefined) fields.push({ key: row.key, value })
  }
  return fields
}

/**
 * Reads a config back from KV fields (a later field with the same key wins, as in a flattened
 * stack). Returns the config and the fields no row knows.
 */
export const readRows = <C>(
  rows: ReadonlyArray<KVRow<C>>,
  kv: KVConfig
): { readonly config: C; readonly unknown: ReadonlyArray<KVConfigField> } => {
  const values = new Map<string, unknown>()
  for (const field of kv.fields) values.set(field.key, field.value)
  const known = new Set<string>()
  const config: Record<string, unknown> = {}
  for (const row of rows) {
    known.add(row.key)
    if (values.has(row.key)) row.read(values.get(row.key), config)
  }
  const unknown: Array<KVConfigField> = []
  for (const [key, value] of values) {
    if (!known.has(key)) unknown.push(value === undefined ? { key } : { key, value })
  }
  return { config: config as C, unknown }
}

/**
 * `top` merged over `base`, as the official client merges `raw` under the typed fields: one
 * field per key, in the order keys first appear, each with its last value.
 */
export const mergeOver = (
  base: ReadonlyArray<KVConfigField>,
  top: ReadonlyArray<KVConfigField>
): Array<KVConfigField> => {
  const merged = new Map<string, unknown>()
  for (const field of base) merged.set(field.key, field.value)
  for (const field of top) merged.set(field.key, field.value)
  return Array.from(merged, ([key, value]) => value === undefined ? { key } : { key, value })
}
