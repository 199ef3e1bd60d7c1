/**
 * Our errors as `@effect/ai` errors: bad input → `MalformedInput`, an answer or frame that does not
 * decode → `MalformedOutput`, everything else → `UnknownError`. Descriptions are our own error
 * messages, which are bounded and never carry secrets.
 *
 * @internal
 */
import * as AiError from "@effect/ai/AiError"
import type { LMStudioError } from "../../LMStudioError.js"

export const toAiError = (module: string, method: string) => (error: LMStudioError): AiError.AiError => {
  const fields = { module, method, description: error.message, cause: error }
  switch (error._tag) {
    case "InvalidArgumentError":
      return new AiError.MalformedInput(fields)
    case "StructuredOutputError":
    case "ProtocolError":
      return new AiError.MalformedOutput(fields)
    default:
      return new AiError.UnknownError(fields)
  }
}

export const malformedInput = (module: string, method: string, description: string): AiError.MalformedInput =>
  new AiError.MalformedInput({ module, method, description })
