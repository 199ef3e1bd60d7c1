/**
 * The simulator's deterministic tokenizer: not a real model's vocabulary, but stable across runs
 * and processes and reversible, so that generated replies stream one token per fragment and token
 * counts agree everywhere (`tokenize`, `countTokens`, prediction stats) [inferred].
 *
 * A token is a special marker (`<|im_start|>`-style, or `<think>` / `</think>`), a run of up to 10
 * letters with at most one leading space, a digit with at most one leading space, any other symbol
 * with at most one leading space, or a single whitespace character. Joining the pieces of a text
 * gives the text back.
 *
 * @internal
 */

const PIECE = /<\|[^|\s]{1,32}\|>|<\/?think>| ?\p{L}{1,10}| ?\p{N}| ?[^\s\p{L}\p{N}]|\s/gu

/** Ids below this are left for special tokens (BOS/EOS-style markers). */
const FIRST_ID = 1_000
const VOCABULARY = 150_000

/** Begin / end markers an embedding model's `tokenize` adds (BERT's `[CLS]` / `[SEP]` ids, as nomic uses). */
export const EMBEDDING_BEGIN = 101
export const EMBEDDING_END = 102

/** FNV-1a over UTF-16 code units: stable across runs and platforms. */
export const fnv1a = (text: string, seed = 0x811c9dc5): number => {
  let hash = seed >>> 0
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193) >>> 0
  return hash
}

/** The pieces of `text`, in order; `tokenPieces(text).join("") === text`. */
export const tokenPieces = (text: string): Array<string> => text.match(PIECE) ?? []

/** The stable id of one piece (FNV-1a, folded into the vocabulary). */
export const tokenId = (piece: string): number => FIRST_ID + (fnv1a(piece) % VOCABULARY)

/** The token ids of `text`: the same text always gives the same ids. */
export const tokenize = (text: string): Array<number> => tokenPieces(text).map(tokenId)

/** Token ids of an LLM: one per piece, no special tokens. */
export const tokenizeLlm = tokenize

/** Token ids of an embedding model: the pieces between the begin and end markers. */
export const tokenizeEmbedding = (text: string): ReadonlyArray<number> => [EMBEDDING_BEGIN, ...tokenize(text), EMBEDDING_END]

/** How many tokens `text` has (`tokenize(text).length`; without markers, for either domain). */
export const countTokens = (text: string): number => tokenPieces(text).length
