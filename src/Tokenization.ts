/**
 * Tokenization on LLM and embedding handles (`tokenize`, `countTokens`), and "does this prompt
 * fit the model's context?".
 *
 * @since 0.2.0
 */
import * as Effect from "effect/Effect"
import type { ChatInput } from "./Chat.js"
import type { LMStudioError } from "./LMStudioError.js"
import type { ApplyPromptTemplateOptions } from "./Llm.js"

/**
 * Options of `tokenize(texts)`.
 *
 * @since 0.2.0
 * @category models
 */
export interface TokenizeOptions {
  /**
   * How many texts are tokenized at once (one request each; LM Studio has no batch endpoint).
   * Default: the client's `embedConcurrency` (16).
   */
  readonly concurrency?: number | undefined
}

/**
 * What LLM and embedding handles share: the model's own tokenizer.
 *
 * @since 0.2.0
 * @category models
 */
export interface TokenOperations {
  /**
   * The model's token ids for a text, or for each of several texts (in input order). Embedding
   * models add their begin/end markers, so their `tokenize` is two ids longer than `countTokens`.
   */
  readonly tokenize: {
    (text: string): Effect.Effect<ReadonlyArray<number>, LMStudioError>
    (
      texts: ReadonlyArray<string>,
      options?: TokenizeOptions
    ): Effect.Effect<ReadonlyArray<ReadonlyArray<number>>, LMStudioError>
  }
  /** How many tokens a text is, for this model. */
  readonly countTokens: (text: string) => Effect.Effect<number, LMStudioError>
}

/**
 * How much of a model's context a prompt takes.
 *
 * @since 0.2.0
 * @category models
 */
export interface ContextUsage {
  /** Tokens of the prompt. */
  readonly promptTokens: number
  /** The instance's context length (its load config). */
  readonly contextLength: number
  /** Tokens left for the reply: `contextLength - promptTokens` (negative when it does not fit). */
  readonly remaining: number
  /** `promptTokens <= contextLength`. */
  readonly fits: boolean
}

/**
 * Counts a formatted prompt's tokens and compares them with the instance's context length.
 * For a chat use {@link chatContextUsage}, which applies the model's prompt template first so
 * that roles and special tokens are counted too.
 *
 * ```ts
 * const usage = yield* Tokenization.contextUsage(model, prompt)
 * if (!usage.fits) yield* Console.log(`too long by ${-usage.remaining} tokens`)
 * ```
 *
 * @since 0.2.0
 * @category utils
 */
export const contextUsage = (
  handle: TokenOperations & { readonly getContextLength: Effect.Effect<number, LMStudioError> },
  prompt: string
): Effect.Effect<ContextUsage, LMStudioError> =>
  Effect.map(
    Effect.all([handle.countTokens(prompt), handle.getContextLength], { concurrency: 2 }),
    ([promptTokens, contextLength]) => ({
      promptTokens,
      contextLength,
      remaining: contextLength - promptTokens,
      fits: promptTokens <= contextLength
    })
  )

/**
 * Whether a chat fits an LLM's context: the chat is formatted with the model's prompt template
 * (`applyPromptTemplate`, which ends with the generation prompt), its tokens counted
 * (`countTokens`) and compared with the instance's context length (`getContextLength`).
 *
 * ```ts
 * const usage = yield* Tokenization.chatContextUsage(llm, chat)
 * if (usage.remaining < 500) yield* Console.log("little room left for the answer")
 * ```
 *
 * @since 0.2.0
 * @category utils
 */
export const chatContextUsage = (
  llm: TokenOperations & {
    readonly getContextLength: Effect.Effect<number, LMStudioError>
    readonly applyPromptTemplate: (chat: ChatInput, options?: ApplyPromptTemplateOptions) => Effect.Effect<string, LMStudioError>
  },
  chat: ChatInput,
  options?: ApplyPromptTemplateOptions
): Effect.Effect<ContextUsage, LMStudioError> =>
  Effect.flatMap(llm.applyPromptTemplate(chat, options), (formatted) => contextUsage(llm, formatted))
