/**
 * `tokenize` and `countTokens`, which LLM and embedding handles share.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import type { TokenizeOptions, TokenOperations } from "../../Tokenization.js"
import type { HandleContext } from "../handleContext.js"
import { withClientSpan } from "../tracing.js"
import { callInstance, field, type InstanceIdentity, numbers } from "./instanceCall.js"
import * as Input from "./input.js"

/** The span of an operation on a handle, named `LMStudio.<domain>.<operation>`. */
export const operationSpan = (
  context: HandleContext<InstanceIdentity>,
  operation: string,
  extra?: Record<string, unknown>
) =>
  withClientSpan(`LMStudio.${context.domain}.${operation}`, {
    "lmstudio.identifier": context.info.identifier,
    "lmstudio.model_key": context.info.modelKey,
    ...extra
  })

const tokenizeRules: Input.TextRules = { field: "text", allowEmpty: true, allowNoTexts: true }

const readTokens = (result: unknown) => numbers(field(result, "tokens"), true)

const readCount = (result: unknown) => {
  const count = field(result, "tokenCount")
  return typeof count === "number" && Number.isInteger(count) && count >= 0 ? count : undefined
}

/** The token members of a handle of either domain. */
export const tokenOperations = (context: HandleContext<InstanceIdentity>): TokenOperations => {
  const tokenizeOne = (inputString: string) =>
    callInstance(
      context,
      "tokenize",
      { specifier: context.specifier, inputString },
      readTokens,
      "{ tokens: integer[] }"
    )

  const tokenize = (input: string | ReadonlyArray<string>, options?: TokenizeOptions) =>
    Input.forText(input, tokenizeRules, options, context.defaults.embedConcurrency, tokenizeOne).pipe(
      operationSpan(context, "tokenize", Array.isArray(input) ? { "lmstudio.input_count": input.length } : undefined)
    )

  const countTokens = (input: string) =>
    Input.text("text", input, true).pipe(
      Effect.flatMap((inputString) =>
        callInstance(
          context,
          "countTokens",
          { specifier: context.specifier, inputString },
          readCount,
          "{ tokenCount: integer ≥ 0 }"
        )
      ),
      operationSpan(context, "countTokens")
    )

  return { tokenize: tokenize as TokenOperations["tokenize"], countTokens }
}
