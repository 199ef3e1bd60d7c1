/**
 * `embed` on embedding handles: one `embedString` request per text (LM Studio has no batch
 * endpoint), at most `concurrency` in flight, results in input order.
 *
 * @internal
 */
import type { EmbeddingHandle, EmbedOptions } from "../../Embedding.js"
import type { HandleContext } from "../handleContext.js"
import { callInstance, field, type InstanceIdentity, numbers } from "./instanceCall.js"
import * as Input from "./input.js"
import { operationSpan } from "./tokens.js"

/** Embeddings of nothing mean nothing: "" and `[]` are refused. */
const embedRules: Input.TextRules = { field: "text", allowEmpty: false, allowNoTexts: false }

const readEmbedding = (result: unknown) => {
  const vector = numbers(field(result, "embedding"), false)
  return vector !== undefined && vector.length > 0 ? vector : undefined
}

/** The `embed` member of an embedding handle. */
export const embedOperation = (context: HandleContext<InstanceIdentity>): EmbeddingHandle["embed"] => {
  const embedOne = (inputString: string) =>
    callInstance(
      context,
      "embedString",
      { modelSpecifier: context.specifier, inputString },
      readEmbedding,
      "{ embedding: number[] } with at least one number"
    )

  const embed = (input: string | ReadonlyArray<string>, options?: EmbedOptions) =>
    Input.forText(input, embedRules, options, context.defaults.embedConcurrency, embedOne).pipe(
      operationSpan(context, "embed", Array.isArray(input) ? { "lmstudio.input_count": input.length } : undefined)
    )

  return embed as EmbeddingHandle["embed"]
}
