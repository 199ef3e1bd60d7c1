/**
 * Simulated tool use: when tools are offered and the chat's last message is a
 * user message naming one or more of them, the model calls each named tool once, with arguments
 * valid for its parameters schema. After tool results it answers in text (see `generation.ts`),
 * so an `act` loop ends.
 *
 * @internal
 */
import type { Random } from "./generation.js"

import type { Step, ToolCallRequest } from "./predictPlan.js"
import { type ChatMessage, messageText } from "./predictProtocol.js"
import { jsonValueFor } from "./structured.js"
import { pieces } from "./tokenizer.js"
import type { ToolDefinition } from "./wire.js"

const spaced = (name: string): string => name.replace(/[_-]+/g, " ").toLowerCase()

/**
 * The tools the model calls: the offered tools the last message names (by name, or with `_`/`-`
 * read as spaces), in the order they are offered; with `toolChoice` `required`, the first tool
 * when none is named; none with `toolChoice` `none`. Empty unless the last message is a user
 * message [inferred rule].
 */
export const toolsToCall = (
  messages: ReadonlyArray<ChatMessage>,
  tools: ReadonlyArray<ToolDefinition>,
  choice: "none" | "auto" | "required"
): ReadonlyArray<ToolDefinition> => {
  const last = messages[messages.length - 1]
  if (last?.role !== "user" || tools.length === 0 || choice === "none") return []
  const text = messageText(last).toLowerCase()
  const named = tools.filter(({ function: { name } }) =>
    name.length > 0 && (text.includes(name.toLowerCase()) || text.includes(spaced(name)))
  )
  return named.length === 0 && choice === "required" ? tools.slice(0, 1) : named
}

/**
 * The steps of a tool-calling reply: a short sentence, then for each call `Start` (with a call id)
 * → `Name` → the arguments' JSON one token per `Argument` → `End` with the parsed request and
 * the raw text (Qwen-style `<tool_call>` markup) [inferred: markup].
 */
export const toolCallSteps = (
  tools: ReadonlyArray<ToolDefinition>,
  rng: Random,
  words: ReadonlyArray<string>
): { readonly preamble: string; readonly steps: ReadonlyArray<Step> } => {
  const names = tools.map((t) => t.function.name)
  const preamble = `Let me call ${names.join(" and ")} to answer that.`
  const steps: Array<Step> = []
  for (const tool of tools) {
    const id = `call_${Math.floor(rng() * 1e9).toString().padStart(9, "0")}`
    const value = jsonValueFor(tool.function.parameters ?? { type: "object", properties: {} }, rng, words)
    const args = typeof value === "object" && value !== null && !Array.isArray(value)
      ? value as Record<string, unknown>
      : { value }
    const json = JSON.stringify(args)
    const request: ToolCallRequest = { type: "function", id, name: tool.function.name, arguments: args }
    steps.push({ _tag: "ToolCallStart", toolCallId: id }, { _tag: "ToolCallName", name: tool.function.name })
    for (const piece of pieces(json)) steps.push({ _tag: "ToolCallArgument", content: piece })
    steps.push({
      _tag: "ToolCallEnd",
      request,
      rawContent: `<tool_call>\n${JSON.stringify({ name: tool.function.name, arguments: args })}\n</tool_call>`
    })
  }
  return { preamble, steps }
}
