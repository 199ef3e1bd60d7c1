/**
 * The inference RPCs besides `predict`: `tokenize`, `countTokens` (llm and embedding),
 * `embedString` (embedding) and `applyPromptTemplate` (llm).
 *
 * Each one restarts the instance's idle timer; an instance that is gone fails at once with
 * `generic.noModelMatchingQuery`; a malformed parameter gets an `rpcError`.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import { EmbedStringParameter, type ModelSpecifier, TokenizeParameter } from "../../internal/protocol/modelManagement.js"
import { type CallContext, rpcStrict } from "./context.js"
import { DEFAULT_EMBEDDING_DIMENSION, embed } from "./embedding.js"
import { noModelMatchingQuery, type ServerFailure } from "./errors.js"
import { displayQuery, type InstanceRecord } from "./models.js"
import { renderPrompt } from "./promptTemplate.js"
import { findBySpecifier, instancesOf, touchInstance } from "./state.js"
import { countTokens as countPieces, tokenizeEmbedding, tokenizeLlm } from "./tokenizer.js"
import { ApplyPromptTemplateParameter } from "./wire.js"

/**
 * The instance a specifier designates, marked used; a vanished instance reference and a query
 * matching nothing both fail with `generic.noModelMatchingQuery`.
 */
export const useInstance = (ctx: CallContext, specifier: ModelSpecifier): Effect.Effect<InstanceRecord, ServerFailure> =>
  Effect.suspend(() => {
    const found = findBySpecifier(ctx.sim, ctx.domain, specifier)
    if (found === undefined) {
      const loaded = instancesOf(ctx.sim, ctx.domain).map((i) => i.identifier)
      return Effect.fail(noModelMatchingQuery(specifier.type === "query" ? displayQuery(specifier.query) : {}, loaded))
    }
    return Effect.as(touchInstance(ctx.sim, found), found)
  })

/** The number of dimensions an embedding instance's vectors have. */
export const dimensionOf = (ctx: CallContext, record: InstanceRecord): number =>
  ctx.sim.options.embeddingDimensions.get(record.model.modelKey) ?? DEFAULT_EMBEDDING_DIMENSION

export const tokenize = rpcStrict("tokenize", TokenizeParameter, (ctx, { inputString, specifier }) =>
  Effect.map(useInstance(ctx, specifier), (record) => ({
    tokens: record.model.type === "embedding" ? tokenizeEmbedding(inputString) : tokenizeLlm(inputString)
  })))

export const countTokens = rpcStrict("countTokens", TokenizeParameter, (ctx, { inputString, specifier }) =>
  Effect.as(useInstance(ctx, specifier), { tokenCount: countPieces(inputString) }))

export const embedString = rpcStrict("embedString", EmbedStringParameter, (ctx, { inputString, modelSpecifier }) =>
  Effect.map(useInstance(ctx, modelSpecifier), (record) => ({ embedding: embed(inputString, dimensionOf(ctx, record)) })))

/** The prediction config stack does not change the rendering [inferred]. */
export const applyPromptTemplate = rpcStrict(
  "applyPromptTemplate",
  ApplyPromptTemplateParameter,
  (ctx, { history, opts, specifier }) =>
    Effect.as(useInstance(ctx, specifier), { formatted: renderPrompt(history, opts) })
)
