/**
 * The simulator's prompt template: a ChatML rendering (as Qwen models use), ending with the
 * generation prompt `<|im_start|>assistant\n`. [inferred: the simulated models all share it]
 *
 * - The prompt starts with the BOS token `<|begin_of_text|>` unless `omitBosToken`.
 * - Each past assistant turn ends with `<|im_end|>` and the EOS token `<|endoftext|>` unless
 *   `omitEosToken`. Both are one token each for the simulator's tokenizer.
 * - Tool definitions are listed in the system part (a system part is created if the chat has
 *   none), one JSON object per line between `<tools>` tags; tool calls and results are rendered
 *   as `<tool_call>` / `<tool_response>` blocks, as Qwen2.5's template does.
 * - Images become `<|vision_start|><|image_pad|><|vision_end|>`; other files a `<file name="…">` marker.
 *
 * @internal
 */
import type { ApplyPromptTemplateOptions, ChatHistoryData, ChatMessageData, ToolDefinition } from "./wire.js"

export const BOS = "<|begin_of_text|>"
export const EOS = "<|endoftext|>"
/** What every rendering ends with. */
export const GENERATION_PROMPT = "<|im_start|>assistant\n"

const toolsSection = (tools: ReadonlyArray<ToolDefinition>): string =>
  "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n" +
  "You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n" +
  tools.map((tool) => JSON.stringify(tool)).join("\n") +
  "\n</tools>\n\nFor each function call, return a json object with function name and arguments within " +
  "<tool_call></tool_call> XML tags."

const partText = (part: ChatMessageData["content"][number]): string => {
  switch (part.type) {
    case "text":
      return part.text
    case "file":
      return part.fileType === "image" ? "<|vision_start|><|image_pad|><|vision_end|>" : `<file name="${part.name}">`
    case "toolCallRequest":
      return `<tool_call>\n${
        JSON.stringify({ name: part.toolCallRequest.name, arguments: part.toolCallRequest.arguments ?? {} })
      }\n</tool_call>`
    case "toolCallResult":
      return `<tool_response>\n${part.content}\n</tool_response>`
  }
}

const turn = (role: string, content: string, eos: string): string =>
  `<|im_start|>${role}\n${content}<|im_end|>${eos}\n`

/** Renders a chat history as the simulated models' prompt. */
export const renderPrompt = (history: ChatHistoryData, opts: ApplyPromptTemplateOptions): string => {
  const tools = opts.toolDefinitions ?? []
  const eos = opts.omitEosToken === true ? "" : EOS
  let out = opts.omitBosToken === true ? "" : BOS
  let toolsPending = tools.length > 0
  const [first] = history.messages
  if (toolsPending && first?.role !== "system") {
    out += turn("system", toolsSection(tools), "")
    toolsPending = false
  }
  for (const message of history.messages) {
    let content = message.content.map(partText).join(message.role === "tool" ? "\n" : "")
    if (message.role === "system" && toolsPending) {
      content = `${content}\n\n${toolsSection(tools)}`
      toolsPending = false
    }
    // Tool results go back to the model as a user turn, as in Qwen2.5's template.
    const role = message.role === "tool" ? "user" : message.role
    out += turn(role, content, message.role === "assistant" ? eos : "")
  }
  return out + GENERATION_PROMPT
}
