/**
 * Structured output: a Schema (sent as the JSON Schema `effect/JSONSchema` makes of it, the answer
 * decoded with the same Schema) or a JSON Schema object (the answer parsed as JSON).
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as JSONSchema from "effect/JSONSchema"
import * as Schema from "effect/Schema"
import { InvalidArgumentError, StructuredOutputError } from "../../LMStudioError.js"
import * as ServerText from "../serverText.js"

type JsonObject = { readonly [key: string]: unknown }

export interface Structured {
  /** The `llm.prediction.structured` value. */
  readonly setting: { readonly type: "json"; readonly jsonSchema: JsonObject }
  /** The answer's parsed value, or why it does not match. */
  readonly decode: (content: string, identifier: string) => Either.Either<unknown, StructuredOutputError>
}

const parseJson = (content: string, identifier: string): Either.Either<unknown, StructuredOutputError> => {
  try {
    return Either.right(JSON.parse(content))
  } catch (error) {
    return Either.left(new StructuredOutputError({ identifier, content, detail: `not valid JSON (${String(error)})` }))
  }
}

export const prepareStructured = (input: unknown): Effect.Effect<Structured | undefined, InvalidArgumentError> => {
  if (input === undefined) return Effect.succeed(undefined)
  if (Schema.isSchema(input)) {
    const schema = input as Schema.Schema<unknown, unknown, never>
    return Effect.try({
      try: () => JSONSchema.make(schema) as unknown as JsonObject,
      catch: (error) =>
        new InvalidArgumentError({
          field: "structured",
          reason: `has no JSON Schema form (${error instanceof Error ? error.message : String(error)}); ` +
            "add a jsonSchema annotation to the parts that lack one"
        })
    }).pipe(Effect.map((jsonSchema): Structured => {
      const decodeValue = Schema.decodeUnknownEither(schema)
      return {
        setting: { type: "json", jsonSchema },
        decode: (content, identifier) =>
          Either.flatMap(parseJson(content, identifier), (json) =>
            Either.mapLeft(decodeValue(json), (error) =>
              new StructuredOutputError({ identifier, content, detail: ServerText.describeParseError(error, ServerText.unscrubbed) })))
      }
    }))
  }
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    return Effect.fail(
      new InvalidArgumentError({ field: "structured", reason: "must be a Schema or a JSON Schema object" })
    )
  }
  return Effect.succeed({ setting: { type: "json", jsonSchema: input as JsonObject }, decode: parseJson })
}
