/**
 * Deterministic text generation: the natural reply is a pure function
 * of the prompt, the model and the sampling fields, at least 8 tokens long, with a paragraph
 * break in it (so `"\n\n"` works as a stop string). Reasoning models open with a `<think>`
 * section. The wording is the simulator's own [inferred].
 *
 * @internal
 */
import type { ChatMessage } from "./predictProtocol.js"
import { messageText } from "./predictProtocol.js"
import { pieces } from "./tokenizer.js"

/** FNV-1a over the given strings: the generator's seed. */
export const seedOf = (...parts: ReadonlyArray<string>): number => {
  let hash = 0x811c9dc5
  for (const part of parts) {
    for (let i = 0; i < part.length; i++) hash = Math.imul(hash ^ part.charCodeAt(i), 0x01000193) >>> 0
    hash = Math.imul(hash ^ 0xff, 0x01000193) >>> 0
  }
  return hash
}

/** A small seeded PRNG (mulberry32): numbers in [0, 1). */
export type Random = () => number

export const random = (seed: number): Random => {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** One of `items`, chosen by `rng`. */
export const pick = <A>(rng: Random, items: ReadonlyArray<A>): A => items[Math.floor(rng() * items.length)] as A

const OPENINGS = ["Sure!", "Certainly.", "Of course.", "Good question.", "Happy to help."]
const CLOSINGS = [
  "I hope this helps.",
  "Let me know if you need anything else.",
  "That is all I can say for now.",
  "Feel free to ask a follow-up question."
]
const CONTINUATIONS = [
  " and the story goes on from there.",
  " which is what one would expect.",
  " so the next part follows naturally.",
  " and that is how it usually ends."
]

/** The first `n` words of `text`, whitespace collapsed. */
const firstWords = (text: string, n: number): string => {
  const words = text.trim().split(/\s+/).filter((w) => w.length > 0)
  return words.length > n ? `${words.slice(0, n).join(" ")}…` : words.join(" ")
}

/** What the reply depends on. */
export interface ReplyInput {
  readonly modelKey: string
  /** The rendered chat, or the raw prompt of a completion. */
  readonly prompt: string
  /** The chat, or `undefined` for a raw completion. */
  readonly messages: ReadonlyArray<ChatMessage> | undefined
  readonly samplingKey: string
}

/** A deterministic random source for one prediction. */
export const replyRandom = (input: ReplyInput): Random =>
  random(seedOf(input.modelKey, input.prompt, input.samplingKey))

/** The visible part of the natural reply (no reasoning section). */
export const naturalReply = (input: ReplyInput, rng: Random): string => {
  const closing = pick(rng, CLOSINGS)
  if (input.messages === undefined) return `${pick(rng, CONTINUATIONS)}\n\n${closing}`
  const last = input.messages[input.messages.length - 1]
  if (last?.role === "tool") {
    const results = last.content.map((part) => `${part.name ?? "the tool"} returned ${firstWords(part.content, 16)}`)
    return `Thanks for waiting: ${results.join("; ")}.\n\n${closing}`
  }
  const userText = [...input.messages].reverse().find((m) => m.role === "user")
  const quote = userText === undefined ? "" : firstWords(messageText(userText), 12)
  const about = quote.length > 0 ? `You wrote: "${quote}".` : "You did not write anything."
  return `${pick(rng, OPENINGS)} ${about}\n\n${closing}`
}

/** The reasoning section a thinking model opens its reply with. */
export const reasoningSection = (input: ReplyInput): string => {
  const last = input.messages === undefined
    ? input.prompt
    : messageText(input.messages[input.messages.length - 1] ?? { role: "user", content: [] })
  return `<think>\nThe request is "${firstWords(last, 8)}". I should answer briefly and clearly.\n</think>\n\n`
}

/**
 * Whether a model opens its replies with a `<think>` section: known reasoning families by model
 * key (LM Studio reads this from the model's template) [inferred].
 */
export const isReasoningModel = (modelKey: string): boolean =>
  /deepseek-r1|qwq|magistral|gpt-oss|thinking|reasoning/i.test(modelKey)

/** How a fragment's text relates to reasoning. */
export type ReasoningType = "none" | "reasoning" | "reasoningStartTag" | "reasoningEndTag"

/** One generated token, streamed as one fragment. */
export interface PlannedToken {
  readonly text: string
  readonly reasoningType: ReasoningType
}

const piecesAs = (text: string, reasoningType: ReasoningType): Array<PlannedToken> =>
  pieces(text).map((piece) => ({ text: piece, reasoningType }))

/**
 * Splits a reply into tokens. With reasoning delimiters, the first start delimiter and the first
 * end delimiter after it are tokens of their own, and the text between them is reasoning; the
 * delimiters may fall anywhere, even inside a word (as in LM Studio's own tests).
 */
export const planTokens = (
  text: string,
  tags: { readonly start: string; readonly end: string } | undefined
): Array<PlannedToken> => {
  const start = tags === undefined ? -1 : text.indexOf(tags.start)
  if (tags === undefined || start < 0) return piecesAs(text, "none")
  const afterStart = start + tags.start.length
  const end = text.indexOf(tags.end, afterStart)
  const tokens = [...piecesAs(text.slice(0, start), "none"), { text: tags.start, reasoningType: "reasoningStartTag" } as const]
  if (end < 0) return [...tokens, ...piecesAs(text.slice(afterStart), "reasoning")]
  return [
    ...tokens,
    ...piecesAs(text.slice(afterStart, end), "reasoning"),
    { text: tags.end, reasoningType: "reasoningEndTag" },
    ...piecesAs(text.slice(end + tags.end.length), "none")
  ]
}
