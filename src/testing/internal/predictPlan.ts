/**
 * What one prediction will stream, decided before the first packet: the steps (fragments and
 * tool-call events) and how the reply ends by itself (EOS, or a stop string). Limits
 * (`maxTokens`, the context length) are applied while streaming.
 *
 * @internal
 */
import type { PlannedToken } from "./generation.js"

/** A function call the model makes (the wire's `FunctionToolCallRequest`). */
export interface ToolCallRequest {
  readonly type: "function"
  readonly id: string
  readonly name: string
  readonly arguments: Record<string, unknown>
}

/** One thing the prediction streams. `Fragment` and `ToolCallArgument` cost one token each. */
export type Step =
  | { readonly _tag: "Fragment"; readonly token: PlannedToken }
  | { readonly _tag: "ToolCallStart"; readonly toolCallId: string }
  | { readonly _tag: "ToolCallName"; readonly name: string }
  | { readonly _tag: "ToolCallArgument"; readonly content: string }
  | { readonly _tag: "ToolCallEnd"; readonly request: ToolCallRequest; readonly rawContent: string }

export const costsToken = (step: Step): boolean => step._tag === "Fragment" || step._tag === "ToolCallArgument"

/** How the reply ends when no limit strikes first. */
export type Ending = { readonly reason: "eosFound" } | { readonly reason: "stopStringFound"; readonly stopString: string }

export interface Plan {
  readonly steps: ReadonlyArray<Step>
  readonly ending: Ending
  /**
   * The index (counting token-costing steps from 0) of the token during which the ending is
   * detected: the EOS token, or the token that completes a stop string. The ending happens only
   * if this token is within the limits.
   */
  readonly endingAt: number
}

const tokenCount = (steps: ReadonlyArray<Step>): number => steps.filter(costsToken).length

/** Where the first stop string starts in `text` (earliest; the longest on a tie). */
const firstStop = (text: string, stopStrings: ReadonlyArray<string>) => {
  let best: { readonly index: number; readonly stopString: string } | undefined
  for (const stopString of stopStrings) {
    const index = text.indexOf(stopString)
    if (index < 0) continue
    if (best === undefined || index < best.index || (index === best.index && stopString.length > best.stopString.length)) {
      best = { index, stopString }
    }
  }
  return best
}

/**
 * The plan for `steps` under `stopStrings`: the fragments' text is cut at the first stop string,
 * which is never streamed (a fragment straddling it keeps only the part before it), and nothing
 * after it is streamed.
 */
export const planWithStopStrings = (steps: ReadonlyArray<Step>, stopStrings: ReadonlyArray<string>): Plan => {
  const text = steps.map((step) => step._tag === "Fragment" ? step.token.text : "").join("")
  const stop = firstStop(text, stopStrings)
  if (stop === undefined) return { steps, ending: { reason: "eosFound" }, endingAt: tokenCount(steps) }
  const kept: Array<Step> = []
  let offset = 0
  let straddled = false
  for (const step of steps) {
    if (step._tag !== "Fragment") {
      kept.push(step)
      continue
    }
    const end = offset + step.token.text.length
    if (end <= stop.index) {
      kept.push(step)
    } else {
      const before = step.token.text.slice(0, stop.index - offset)
      if (before.length > 0) {
        kept.push({ _tag: "Fragment", token: { ...step.token, text: before } })
        straddled = true
      }
      break
    }
    offset = end
  }
  const count = tokenCount(kept)
  return {
    steps: kept,
    ending: { reason: "stopStringFound", stopString: stop.stopString },
    endingAt: straddled ? count - 1 : count
  }
}
