/**
 * The prediction config of one `@effect/ai` request: the provider's config, then the request's
 * tools (`rawTools`, and `toolChoice` unless it is LM Studio's default `auto`) and response format
 * (`structured` with the Schema's JSON Schema) on top. A Schema without a JSON Schema form, or a
 * provider-defined tool (which LM Studio cannot run), is a problem, not a thrown error.
 *
 * @internal
 */
import type * as LanguageModel from "@effect/ai/LanguageModel"
import * as Tool from "@effect/ai/Tool"
import * as Either from "effect/Either"
import type * as SchemaAST from "effect/SchemaAST"
import type { PredictionConfig, ToolDefinition } from "../../PredictionConfig.js"

type Mutable<T> = { -readonly [K in keyof T]: T[K] }
type Parameters = NonNullable<ToolDefinition["function"]["parameters"]>

/**
 * A tool's parameters in the shape LM Studio takes: an object schema's `type`, `properties`,
 * `required`, `additionalProperties` and `$defs` (annotations such as `$id` or a top-level
 * `description` are left out). A Struct without fields (Effect's JSON Schema for it is
 * "any object or array") becomes an object schema with no properties.
 */
/** The JSON Schema of a Schema, or what stops it having one (e.g. a `DateFromSelf` field). */
const jsonSchemaOf = (ast: SchemaAST.AST, what: string): Either.Either<Record<string, unknown>, string> =>
  Either.try({
    try: (): Record<string, unknown> => ({ ...Tool.getJsonSchemaFromSchemaAst(ast) }),
    catch: (error) => `${what} has no JSON Schema form, which LM Studio needs: ${String(error).slice(0, 300)}`
  })

/**
 * A tool's parameters in the shape LM Studio takes: an object schema's `type`, `properties`,
 * `required`, `additionalProperties` and `$defs` (annotations such as `$id` or a top-level
 * `description` are left out). A Struct without fields (Effect's JSON Schema for it is
 * "any object or array") becomes an object schema with no properties.
 */
const toolParameters = (schema: Record<string, unknown>): Parameters => {
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

const toolDefinition = (tool: Tool.Any): Either.Either<ToolDefinition, string> => {
  if (Tool.isProviderDefined(tool)) {
    return Either.left(`tool "${tool.name}" is defined by another provider (${tool.id}): LM Studio runs only your own tools`)
  }
  const description = tool.description ?? Tool.getDescriptionFromSchemaAst(tool.parametersSchema.ast)
  return Either.map(jsonSchemaOf(tool.parametersSchema.ast, `the parameters Schema of tool "${tool.name}"`), (schema) => ({
    type: "function",
    function: { name: tool.name, ...(description === undefined ? {} : { description }), parameters: toolParameters(schema) }
  }))
}

/** The request's config, or the problem (a description for `MalformedInput`). */
export const requestConfig = (
  base: PredictionConfig | undefined,
  options: LanguageModel.ProviderOptions
): Either.Either<PredictionConfig, string> =>
  Either.gen(function*() {
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
      config.rawTools = { type: "toolArray", tools: yield* Either.all(tools.map(toolDefinition)) }
      // `auto` is LM Studio's default, and servers from before tool choice do not know the key.
      if (mode !== "auto") config.toolChoice = { type: "generic", mode }
    }
    if (options.responseFormat.type === "json") {
      const jsonSchema = yield* jsonSchemaOf(options.responseFormat.schema.ast, "the response format's Schema")
      config.structured = { type: "json", jsonSchema }
    }
    return config
  })
