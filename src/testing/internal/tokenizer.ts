/**
 * The simulator's deterministic tokenizer: not a real model's vocabulary, but stable and
 * reversible, so that generated replies stream one token per fragment and token counts agree
 * everywhere (`tokenize`, `countTokens`, prediction stats).
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

/** The pieces of `text`, in order; `tokenPieces(text).join("") === text`. */
export const tokenPieces = (text: string): Array<string> => text.match(PIECE) ?? []

/** The stable id of one piece (FNV-1a, folded into the vocabulary). */
export const tokenId = (piece: string): number => {
  let hash = 0x811c9dc5
  for (let i = 0; i < piece.length; i++) hash = Math.imul(hash ^ piece.charCodeAt(i), 0x01000193) >>> 0
  return FIRST_ID + (hash % VOCABULARY)
}

/** The token ids of `text`: the same text always gives the same ids. */
export const tokenize = (text: string): Array<number> => tokenPieces(text).map(tokenId)

/** How many tokens `text` has (`tokenize(text).length`). */
export const countTokens = (text: string): number => tokenPieces(text).length
