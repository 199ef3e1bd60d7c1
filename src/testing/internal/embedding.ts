/**
 * Simulated embeddings: feature hashing of word unigrams, word bigrams and character trigrams,
 * summed and normalised to unit length. Texts sharing words get a high cosine similarity,
 * unrelated texts one near zero, so nearest-neighbour tests mean something [inferred: not a real
 * model]. A small feature for the exact text keeps different texts (even "Hi" and "hi") apart.
 *
 * @internal
 */
import { fnv1a } from "./tokenizer.js"

/** The dimension used for embedding models whose catalog entry does not say (nomic-embed-text-v1.5's). */
export const DEFAULT_EMBEDDING_DIMENSION = 768

/** How many dimensions each feature touches, so vectors are not one-hot. */
const SPREAD = 4

const WORD = /[\p{L}\p{N}]+/gu

const addFeature = (vector: Float64Array, feature: string, weight: number) => {
  for (let k = 0; k < SPREAD; k++) {
    const hash = fnv1a(feature, 0x811c9dc5 ^ Math.imul(k + 1, 0x9e3779b1))
    const sign = (hash & 1) === 0 ? 1 : -1
    const index = (hash >>> 1) % vector.length
    vector[index] = (vector[index] ?? 0) + sign * weight
  }
}

/** A deterministic unit vector of `dimension` numbers for `text`. */
export const embed = (text: string, dimension: number): ReadonlyArray<number> => {
  const vector = new Float64Array(dimension)
  const words = text.toLowerCase().match(WORD) ?? []
  words.forEach((word, i) => {
    addFeature(vector, `w:${word}`, 1)
    const next = words[i + 1]
    if (next !== undefined) addFeature(vector, `b:${word} ${next}`, 0.5)
    const padded = `<${word}>`
    for (let j = 0; j + 3 <= padded.length; j++) addFeature(vector, `c:${padded.slice(j, j + 3)}`, 0.2)
  })
  addFeature(vector, `t:${text}`, 0.05)
  let norm = 0
  for (const x of vector) norm += x * x
  norm = Math.sqrt(norm)
  if (norm === 0) return Array.from(vector, (_, i) => (i === 0 ? 1 : 0)) // all features cancelled out
  return Array.from(vector, (x) => x / norm)
}
