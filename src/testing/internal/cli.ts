/**
 * Argument parsing and catalog validation of the `lmstudio-simulator` command
 * (`src/bin/lmstudio-simulator.ts`), kept apart so they can be tested in-process.
 *
 * @internal
 */
import { readFileSync } from "node:fs"
import { parseArgs } from "node:util"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { EmbeddingModelInfo, LlmInfo } from "../../ModelInfo.js"
import type { CatalogModel } from "../catalog.js"
import { parseApiToken, type SimulatorOptions, type TrafficEntry } from "../LMStudioSimulator.js"

export const USAGE = `Usage: lmstudio-simulator [options]

Options:
  --port <n>            port to listen on (default 1234; 0 picks a free port)
  --host <address>      interface to listen on (default 127.0.0.1)
  --catalog <file.json> JSON array of downloaded models (ModelInfo) instead of the default catalog
  --api-token <token>   only accept this LM Studio API token (sk-lm-<8>:<20>)
  --load-ms <n>         how long one simulated load takes, in ms (default 200)
  --token-ms <n>        pause per generated token, in ms (default 5; 0 streams without pauses)
  --log-traffic         print every frame in and out on stderr, one line each
  --print-catalog       print the default catalog as JSON (a template for --catalog) and exit
  -v, --version         print the version and exit
  -h, --help            show this help
`

/** A usage or input error: printed without a stack trace, exit code 2 (usage) or 1 (input). */
export class CliError extends Error {
  constructor(message: string, readonly exitCode: number) {
    super(message)
  }
}

const fail = (message: string, exitCode = 1) => Effect.fail(new CliError(message, exitCode))

const integer = (name: string, raw: string | undefined, fallback: number, max: number) =>
  Effect.suspend(() => {
    if (raw === undefined) return Effect.succeed(fallback)
    const value = Number(raw)
    return Number.isInteger(value) && value >= 0 && value <= max
      ? Effect.succeed(value)
      : fail(`--${name} must be an integer between 0 and ${max}, got "${raw}"`, 2)
  })

const decodeLlm = Schema.decodeUnknownEither(LlmInfo, { errors: "all" })
const decodeEmbedding = Schema.decodeUnknownEither(
  Schema.extend(
    EmbeddingModelInfo,
    Schema.Struct({ embeddingDimension: Schema.optional(Schema.Int.pipe(Schema.greaterThanOrEqualTo(1))) })
  ),
  { errors: "all" }
)

/** Validates the catalog entry by entry, with one line per problem ("[2].sizeBytes: …"). */
export const validateCatalog = (json: unknown): Either.Either<ReadonlyArray<CatalogModel>, ReadonlyArray<string>> => {
  if (!Array.isArray(json)) return Either.left(["the file must contain a JSON array of models"])
  const models: Array<CatalogModel> = []
  const problems: Array<string> = []
  const keys = new Set<string>()
  json.forEach((entry: unknown, index) => {
    const type = typeof entry === "object" && entry !== null && "type" in entry ? entry.type : undefined
    const decoded: Either.Either<CatalogModel, ParseResult.ParseError> | undefined = type === "llm"
      ? decodeLlm(entry)
      : type === "embedding"
      ? decodeEmbedding(entry)
      : undefined
    if (decoded === undefined) {
      problems.push(`[${index}].type: must be "llm" or "embedding"`)
    } else if (Either.isLeft(decoded)) {
      for (const issue of ParseResult.ArrayFormatter.formatErrorSync(decoded.left)) {
        problems.push(`[${index}]${issue.path.map((p) => `.${String(p)}`).join("")}: ${issue.message}`)
      }
    } else if (keys.has(decoded.right.modelKey)) {
      problems.push(`[${index}].modelKey: "${decoded.right.modelKey}" is listed twice`)
    } else {
      keys.add(decoded.right.modelKey)
      models.push(decoded.right)
    }
  })
  return problems.length > 0 ? Either.left(problems) : Either.right(models)
}

const readCatalog = (file: string) =>
  Effect.gen(function*() {
    const text = yield* Effect.try({
      try: () => readFileSync(file, "utf8"),
      catch: (e) => new CliError(`Cannot read catalog file ${file}: ${e instanceof Error ? e.message : String(e)}`, 1)
    })
    const json = yield* Effect.try({
      try: (): unknown => JSON.parse(text),
      catch: (e) =>
        new CliError(`Catalog file ${file} is not valid JSON: ${e instanceof Error ? e.message : String(e)}`, 1)
    })
    const validated = validateCatalog(json)
    if (Either.isLeft(validated)) {
      return yield* fail(`Catalog file ${file} is not a valid model catalog:\n  ${validated.left.join("\n  ")}`)
    }
    return validated.right
  })

/** Longest traffic line printed by `--log-traffic`; longer frames (embeddings, say) are cut. */
const MAX_TRAFFIC_LINE = 2_000

/** Formats one traffic entry as a line: `#<connection> /<namespace> <- or -> <json>`. */
export const formatTraffic = (entry: TrafficEntry): string => {
  const json = typeof entry.frame === "string" ? entry.frame : JSON.stringify(entry.frame)
  const body = json.length > MAX_TRAFFIC_LINE ? `${json.slice(0, MAX_TRAFFIC_LINE)}… (${json.length} chars)` : json
  return `#${entry.connection} /${entry.namespace} ${entry.direction === "in" ? "->" : "<-"} ${body}`
}

/** What `--log-traffic` installs: every frame on stderr. */
export const printTraffic = (entry: TrafficEntry): void => {
  process.stderr.write(`${formatTraffic(entry)}\n`)
}

/** What the command line asks for. */
export type CliCommand = SimulatorOptions | "help" | "version" | "print-catalog"

/**
 * Parses the command line: `"help"`, `"version"` or `"print-catalog"` for those flags, else the
 * simulator options (the catalog file read and validated). Defaults: port 1234, load 200 ms, 5 ms per token, no
 * traffic kept in memory (a long-running server must not grow); `--log-traffic` prints it instead.
 */
export const parseCli = (argv: ReadonlyArray<string>): Effect.Effect<CliCommand, CliError> =>
  Effect.gen(function*() {
    const { values } = yield* Effect.try({
      try: () =>
        parseArgs({
          args: [...argv],
          strict: true,
          allowPositionals: false,
          options: {
            port: { type: "string" },
            host: { type: "string" },
            catalog: { type: "string" },
            "api-token": { type: "string" },
            "load-ms": { type: "string" },
            "token-ms": { type: "string" },
            "log-traffic": { type: "boolean" },
            "print-catalog": { type: "boolean" },
            version: { type: "boolean", short: "v" },
            help: { type: "boolean", short: "h" }
          }
        }),
      catch: (e) => new CliError(`${e instanceof Error ? e.message : String(e)}\n\n${USAGE}`, 2)
    })
    if (values.help === true) return "help" as const
    if (values.version === true) return "version" as const
    if (values["print-catalog"] === true) return "print-catalog" as const
    const port = yield* integer("port", values.port, 1234, 65535)
    const loadMs = yield* integer("load-ms", values["load-ms"], 200, 3_600_000)
    const tokenMs = yield* integer("token-ms", values["token-ms"], 5, 60_000)
    const token = values["api-token"]
    if (token !== undefined && parseApiToken(token) === undefined) {
      return yield* fail("--api-token must look like sk-lm-<8 letters/digits>:<20 letters/digits>", 2)
    }
    const catalog = values.catalog === undefined ? undefined : yield* readCatalog(values.catalog)
    const options: SimulatorOptions = {
      port,
      loadMs,
      tokenMs,
      trafficLogSize: 0,
      ...(values["log-traffic"] === true ? { onTraffic: printTraffic } : {}),
      ...(values.host !== undefined ? { host: values.host } : {}),
      ...(catalog !== undefined ? { catalog } : {}),
      ...(token !== undefined ? { apiToken: token } : {})
    }
    return options
  })
