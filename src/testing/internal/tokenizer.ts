/**
 * The simulator's tokenizer: deterministic, stable across runs and processes, and shaped like a
 * BPE tokenizer's output (a word with its leading whitespace is one token, long words split,
 * punctuation on its own). Not a real vocabulary [inferred].
 *
 * @internal
 */

/** Ids below this are reserved for special tokens; ordinary pieces hash into `[RESERVED, VOCAB)`. */
const RESERVED = 1000
const VOCAB = 32_000

/** Begin / end markers an embedding model's `tokenize` adds (BERT's `[CLS]` / `[SEP]` ids, as nomic uses). */
export const EMBEDDING_BEGIN = 101
export const EMBEDDING_END = 102

/**
 * Pieces: optional leading whitespace plus a run of at most 8 letters/digits, or plus one other
 * character; whitespace at the very end is a piece of its own. Every character is in some piece.
 */
const PIECE = /\s*(?:[\p{L}\p{N}_]{1,8}|[^\s\p{L}\p{N}_])|\s+/gu

/** FNV-1a over UTF-16 code units: stable across runs and platforms. */
export const fnv1a = (text: string, seed = 0x811c9dc5): number => {
  let hash = seed >>> 0
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193) >>> 0
  return hash
}

/** The text split into token pieces (concatenated, they give back the text). */
export const pieces = (text: string): ReadonlyArray<string> => text.match(PIECE) ?? []

export const idOf = (piece: string): number => RESERVED + (fnv1a(piece) % (VOCAB - RESERVED))

/** Token ids of an LLM: one per piece, no special tokens. */
export const tokenizeLlm = (text: string): ReadonlyArray<number> => pieces(text).map(idOf)

/** Token ids of an embedding model: the pieces between the begin and end markers. */
export const tokenizeEmbedding = (text: string): ReadonlyArray<number> => [
  EMBEDDING_BEGIN,
  ...pieces(text).map(idOf),
  EMBEDDING_END
]

/** What `countTokens` reports: the number of pieces (without markers, for either domain). */
export const countTokens = (text: string): number => pieces(text).length
