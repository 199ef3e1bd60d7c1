/**
 * The prediction config of one `@effect/ai` request: the provider's config, then the request's
 * tools (`rawTools` + `toolChoice`) and response format (`structured` with the Schema's JSON
 * Schema) on top.
 *
 * @internal
 */
import type * as LanguageModel from "@effect/ai/LanguageModel"
import * as Tool from "@effect/ai/Tool"
import type { PredictionConfig, ToolDefinition } from "../../PredictionConfig.js"

type Mutable<T> = { -readonly [K in keyof T]: T[K] }
type Parameters = NonNullable<ToolDefinition["function"]["parameters"]>

/**
 * A tool's parameters in the shape LM Studio takes: an object schema's `type`, `properties`,
 * `required`, `additionalProperties` and `$defs` (annotations such as `$id` or a top-level
 * `description` are left out). A Struct without fields (Effect's JSON Schema for it is
 * "any object or array") becomes an object schema with no properties.
 */
const toolParameters = (tool: Tool.Any): Parameters => {
  const schema: Record<string, unknown> = { ...Tool.getJsonSchemaFromSchemaAst(tool.parametersSchema.ast) }
  const properties = schema.type === "object" && typeof schema.properties === "object" && schema.properties !== null
    ? schema.properties as Parameters["properties"]
    : {}
  return {
    type: "object",
    properties,
    ...(Array.isArray(schema.required) ? { required: schema.required as Array<string> } : {}),
    ...(typeof schema.additionalProperties === "boolean" ? { additionalProperties: schema.additionalProperties } : {}),
    ...(typeof schema.$defs === "object" && schema.$defs !== null ? { $defs: schema.$defs as Parameters["properties"] } : {})
  }
}

const toolDefinition = (tool: Tool.Any): ToolDefinition => {
  const description = tool.description ?? Tool.getDescriptionFromSchemaAst(tool.parametersSchema.ast)
  return {
    type: "function",
    function: { name: tool.name, ...(description === undefined ? {} : { description }), parameters: toolParameters(tool) }
  }
}

export const requestConfig = (
  base: PredictionConfig | undefined,
  options: LanguageModel.ProviderOptions
): PredictionConfig => {
  const config: Mutable<PredictionConfig> = { ...base }
  if (options.tools.length > 0) {
    const choice = options.toolChoice
    let tools = options.tools
    let mode: "auto" | "none" | "required"
    if (typeof choice === "string") mode = choice
    else if ("tool" in choice) {
      tools = tools.filter((tool) => tool.name === choice.tool)
      mode = "required"
    } else mode = choice.mode ?? "auto"
    config.rawTools = { type: "toolArray", tools: tools.map(toolDefinition) }
    config.toolChoice = { type: "generic", mode }
  }
  if (options.responseFormat.type === "json") {
    const jsonSchema = Tool.getJsonSchemaFromSchemaAst(options.responseFormat.schema.ast) as unknown as Record<string, unknown>
    config.structured = { type: "json", jsonSchema }
  }
  return config
}
