/**
 * `SerializedLMSExtendedError`, the error shape carried by `rpcError`, `channelError` and
 * `signalError`.
 *
 * Like the official client, each field is read leniently: an invalid field becomes absent
 * instead of failing the whole frame, and a missing title becomes "Unknown error".
 *
 * @internal
 */
import * as Schema from "effect/Schema"

/** The error payload as the server sends it, after lenient reading. */
export const SerializedErrorFields = Schema.Struct({
  title: Schema.String,
  rootTitle: Schema.optional(Schema.String),
  cause: Schema.optional(Schema.String),
  suggestion: Schema.optional(Schema.String),
  errorData: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.Unknown })),
  displayData: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.Unknown })),
  stack: Schema.optional(Schema.String)
})
export type SerializedError = typeof SerializedErrorFields.Type

const isRecord = (u: unknown): u is Record<string, unknown> =>
  typeof u === "object" && u !== null && !Array.isArray(u)

const readLeniently = (input: unknown): SerializedError => {
  const raw = isRecord(input) ? input : {}
  const out: {
    title: string
    rootTitle?: string
    cause?: string
    suggestion?: string
    errorData?: Record<string, unknown>
    displayData?: Record<string, unknown>
    stack?: string
  } = { title: typeof raw.title === "string" ? raw.title : "Unknown error" }
  if (typeof raw.rootTitle === "string") out.rootTitle = raw.rootTitle
  if (typeof raw.cause === "string") out.cause = raw.cause
  if (typeof raw.suggestion === "string") out.suggestion = raw.suggestion
  if (isRecord(raw.errorData)) out.errorData = raw.errorData
  if (isRecord(raw.displayData) && typeof raw.displayData.code === "string") out.displayData = raw.displayData
  if (typeof raw.stack === "string") out.stack = raw.stack
  return out
}

/** Lenient schema: any JSON value decodes; unusable fields are dropped. */
export const SerializedError = Schema.transform(Schema.Unknown, SerializedErrorFields, {
  strict: true,
  decode: readLeniently,
  encode: (error) => error
})
