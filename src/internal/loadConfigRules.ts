/**
 * The speculative-decoding rules of an LLM load config, written once: `LlmLoadConfig` reports
 * them, and reading a server's (possibly stale) config repairs them by dropping a field.
 *
 * @internal
 */
import type { CrossFieldRule } from "./configSchema.js"

/** The fields the rules are about. */
export interface SpeculativeFields {
  readonly speculativeDraftMtp?: boolean
  readonly speculativeDraftSimple?: boolean
  readonly speculativeDraftModel?: string
  readonly speculativeDraftMaxTokens?: number
  readonly speculativeDraftMinTokens?: number
}

const hasDraftModel = (config: SpeculativeFields): boolean =>
  config.speculativeDraftModel !== undefined && config.speculativeDraftModel.length > 0

export const speculativeRules: ReadonlyArray<CrossFieldRule<SpeculativeFields>> = [
  {
    field: "speculativeDraftSimple",
    check: (c) =>
      c.speculativeDraftMtp === true && c.speculativeDraftSimple === true
        ? "cannot be true together with speculativeDraftMtp"
        : undefined,
    drop: "speculativeDraftSimple"
  },
  {
    field: "speculativeDraftModel",
    check: (c) =>
      c.speculativeDraftSimple === true && !hasDraftModel(c)
        ? "must name a draft model (a non-empty string) when speculativeDraftSimple is true"
        : undefined,
    drop: "speculativeDraftSimple"
  },
  {
    field: "speculativeDraftModel",
    check: (c) =>
      hasDraftModel(c) && c.speculativeDraftSimple !== true ? "requires speculativeDraftSimple: true" : undefined,
    drop: "speculativeDraftModel"
  },
  {
    field: "speculativeDraftMinTokens",
    check: (c) =>
      c.speculativeDraftMinTokens !== undefined && c.speculativeDraftMaxTokens !== undefined &&
        c.speculativeDraftMinTokens > c.speculativeDraftMaxTokens
        ? `must be <= speculativeDraftMaxTokens (${c.speculativeDraftMaxTokens}), got ${c.speculativeDraftMinTokens}`
        : undefined,
    drop: "speculativeDraftMinTokens"
  }
]
