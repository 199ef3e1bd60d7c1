/**
 * Turns a server's `SerializedLMSExtendedError` into our tagged errors by its display-data code
 * and title, keeping title, cause and suggestion. Every piece of server
 * text passes through `ServerText` first: bounded, and scrubbed of the client's secrets.
 *
 * @internal
 */
import {
  IdentifierInUseError,
  type LMStudioError,
  ModelNotFoundError,
  ServerError
} from "../LMStudioError.js"
import type { SerializedError } from "./protocol/serializedError.js"
import * as ServerText from "./serverText.js"

/** At most this many names of loaded or downloaded models are listed in an error. */
const MAX_LISTED = 50

const strings = (u: unknown): ReadonlyArray<string> | undefined =>
  Array.isArray(u)
    ? u.filter((x): x is string => typeof x === "string").slice(0, MAX_LISTED).map((x) => ServerText.bound(x, 200))
    : undefined

const optional = <K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } =>
  (value === undefined ? {} : { [key]: value }) as { [P in K]?: V }

const describeQuery = (query: unknown, server: ServerText.ServerText): string | undefined => {
  if (typeof query !== "object" || query === null) return undefined
  const parts = Object.entries(query).slice(0, 10).map(([k, v]) => `${server.text(k, 100)} ${server.preview(v, 200)}`)
  return parts.length === 0 ? "any loaded model" : parts.join(", ")
}

const asRecord = (u: unknown): Record<string, unknown> | undefined =>
  typeof u === "object" && u !== null && !Array.isArray(u) ? u as Record<string, unknown> : undefined

const domainNoun = (domain: unknown): string =>
  domain === "llm" ? "an LLM" : domain === "embedding" ? "an embedding model" : `a model of type ${ServerText.unscrubbed.preview(domain, 40)}`

/** Where to ask for a model of the other domain. */
const switchDomain = (actual: unknown, path: string): string =>
  actual === "embedding"
    ? `Use client.embedding.model("${path}") (or Lms.embeddingModel("${path}")): client.llm is for LLMs only.`
    : actual === "llm"
    ? `Use client.llm.model("${path}") (or Lms.llm("${path}")): client.embedding is for embedding models only.`
    : "Ask for it through the namespace of its type."

/** What the caller knew when the error arrived, for messages a person can act on. */
export interface ErrorContext {
  readonly endpoint: string
  readonly requestedIdentifier?: string | undefined
}

/** Our error for the server's `error`, its text made safe by `server`. */
export const fromServerError = (
  error: SerializedError,
  context: ErrorContext,
  server: ServerText.ServerText = ServerText.unscrubbed
): LMStudioError => {
  const display = asRecord(server.data(error.displayData))
  const code = display?.code
  const title = server.text(error.title)
  const suggestion = error.suggestion === undefined ? undefined : server.text(error.suggestion)
  const common = {
    ...optional("serverCause", error.cause === undefined ? undefined : server.text(error.cause)),
    ...optional("displayData", display)
  }
  switch (code) {
    case "generic.noModelMatchingQuery":
      return new ModelNotFoundError({
        title: "No loaded model matches the request",
        ...optional("query", describeQuery(display?.query, server)),
        ...optional("available", strings(display?.loadedModelsSample)),
        suggestion: suggestion ??
          "List what is loaded with listLoaded(), or load the model first with model(key) or loadNewInstance(key).",
        ...common
      })
    case "generic.identifierNotFound":
      return new ModelNotFoundError({
        title: "No loaded model has that identifier",
        ...optional("query", typeof display?.identifier === "string" ? `identifier "${display.identifier}"` : undefined),
        ...optional("available", strings(display?.loadedModelsSample)),
        suggestion: suggestion ?? "List what is loaded with listLoaded().",
        ...common
      })
    case "generic.pathNotFound":
      return new ModelNotFoundError({
        title: "That model is not downloaded",
        ...optional("query", typeof display?.path === "string" ? `model "${display.path}"` : undefined),
        ...optional("available", strings(display?.availablePathsSample)),
        suggestion: suggestion ??
          "Check the model key against client.system.listDownloadedModels(), or download it in LM Studio " +
            "(or with `lms get <model>`).",
        ...common
      })
    case "generic.domainMismatch": {
      // An embedding model asked for on client.llm, or an LLM on client.embedding.
      const path = typeof display?.path === "string" ? ServerText.bound(display.path, 200) : "this model"
      return new ModelNotFoundError({
        title: `"${path}" is ${domainNoun(display?.actualDomain)}, not ${domainNoun(display?.expectedDomain)}`,
        suggestion: suggestion ?? switchDomain(display?.actualDomain, path),
        ...common
      })
    }
    case "generic.specificModelUnloaded":
      return new ModelNotFoundError({
        title: "This model instance has already been unloaded",
        suggestion: suggestion ?? "Get a fresh handle with model(key) or loadNewInstance(key).",
        ...common
      })
  }
  if (/already exists/i.test(title) && context.requestedIdentifier !== undefined) {
    return new IdentifierInUseError({ identifier: context.requestedIdentifier, title })
  }
  return new ServerError({
    endpoint: context.endpoint,
    title,
    ...optional("suggestion", suggestion),
    ...optional("errorData", asRecord(server.data(error.errorData))),
    ...common
  })
}
