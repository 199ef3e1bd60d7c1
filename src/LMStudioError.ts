/**
 * Every way an lmstudio-effect operation can fail, as tagged errors whose messages tell a person
 * what happened and what to do next. None of them ever carries an API token or passkey.
 *
 * (Past 400 lines on purpose: the classes are short and belong together, so that the
 * `LMStudioError` union and its messages can be read and kept consistent in one place.)
 *
 * @since 0.1.0
 */
import type * as ParseResult from "effect/ParseResult"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import * as ServerText from "./internal/serverText.js"

/**
 * Identifies every lmstudio-effect error.
 *
 * @since 0.1.0
 * @category type ids
 */
export const TypeId: unique symbol = Symbol.for("lmstudio-effect/LMStudioError")
/**
 * @since 0.1.0
 * @category type ids
 */
export type TypeId = typeof TypeId

const Extra = Schema.optional(Schema.Record({ key: Schema.String, value: Schema.Unknown }))

const lines = (...parts: ReadonlyArray<string | undefined | false>): string =>
  parts.filter((part): part is string => typeof part === "string" && part.length > 0).join("\n")

/**
 * The server could not be reached, the socket dropped, or the peer stopped answering.
 *
 * - `Unreachable`: nothing answered at the URL (or at any discovery port, listed in `tried`).
 * - `OpenTimeout`: the socket did not open in time.
 * - `Closed`: an open connection dropped while the operation was pending.
 * - `KeepAliveTimeout`: keep-alive is on and the server stopped answering pings.
 * - `ClientClosed`: the client's scope was closed.
 *
 * @since 0.1.0
 * @category errors
 */
export class ConnectionError extends Schema.TaggedError<ConnectionError>("lmstudio-effect/ConnectionError")(
  "ConnectionError",
  {
    reason: Schema.Literal("Unreachable", "OpenTimeout", "Closed", "KeepAliveTimeout", "ClientClosed"),
    url: Schema.String,
    tried: Schema.optional(Schema.Array(Schema.String)),
    detail: Schema.optional(Schema.String),
    /** The underlying error (e.g. the socket's), when there is one. */
    cause: Schema.optional(Schema.Defect)
  }
) {
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId

  /** @since 0.1.0 */
  override get message(): string {
    switch (this.reason) {
      case "Unreachable":
        return this.tried !== undefined && this.tried.length > 0
          ? lines(
            `Could not find LM Studio on this machine. Tried: ${this.tried.join(", ")}.`,
            "Start LM Studio (or the llmster daemon) and enable its server, or pass `baseUrl` " +
              "(e.g. ws://127.0.0.1:1234) to LMStudioClient.layer / set LMSTUDIO_BASE_URL.",
            this.detail
          )
          : lines(
            `Could not connect to LM Studio at ${this.url}.`,
            "Check that LM Studio is running and its server is enabled on that host and port.",
            this.detail
          )
      case "OpenTimeout":
        return lines(
          `Timed out opening a connection to LM Studio at ${this.url}.`,
          this.detail,
          "Check that the URL points at LM Studio's server (not another service), or raise `openTimeout`."
        )
      case "Closed":
        return lines(
          `The connection to LM Studio at ${this.url} was lost while the operation was in progress.`,
          "The next operation reconnects; retry it once LM Studio is back.",
          this.detail
        )
      case "KeepAliveTimeout":
        return lines(
          `LM Studio at ${this.url} stopped answering keep-alive pings; the connection was closed.`,
          this.detail,
          "Check that LM Studio is still running and reachable; the next operation reconnects."
        )
      case "ClientClosed":
        return lines(`The LM Studio client for ${this.url} was closed (its scope ended).`, this.detail)
    }
  }
}

/**
 * The server refused the client's credentials.
 *
 * @since 0.1.0
 * @category errors
 */
export class AuthenticationError
  extends Schema.TaggedError<AuthenticationError>("lmstudio-effect/AuthenticationError")("AuthenticationError", {
    url: Schema.String,
    serverReason: Schema.String
  })
{
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId

  /** @since 0.1.0 */
  override get message(): string {
    return lines(
      `LM Studio at ${this.url} refused to authenticate this client: ${this.serverReason}`,
      "Check the API token (LMSTUDIO_API_TOKEN / `apiToken`, format sk-lm-XXXXXXXX:YYYYYYYYYYYYYYYYYYYY) " +
        "and that it has not been revoked in LM Studio's Developer settings."
    )
  }
}

/**
 * No model matched: nothing of the domain is loaded, no loaded instance has the identifier, or
 * the model key is not downloaded.
 *
 * @since 0.1.0
 * @category errors
 */
export class ModelNotFoundError
  extends Schema.TaggedError<ModelNotFoundError>("lmstudio-effect/ModelNotFoundError")("ModelNotFoundError", {
    title: Schema.String,
    query: Schema.optional(Schema.String),
    suggestion: Schema.optional(Schema.String),
    /** The cause the server gave, if any. */
    serverCause: Schema.optional(Schema.String),
    available: Schema.optional(Schema.Array(Schema.String)),
    displayData: Extra
  })
{
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId

  /** @since 0.1.0 */
  override get message(): string {
    return lines(
      this.query !== undefined ? `${this.title} (looked for ${this.query})` : this.title,
      this.available !== undefined && this.available.length > 0
        ? `Available: ${this.available.join(", ")}`
        : undefined,
      this.serverCause,
      this.suggestion
    )
  }
}

/**
 * An explicit instance identifier is already taken by a loaded (or loading) instance.
 *
 * @since 0.1.0
 * @category errors
 */
export class IdentifierInUseError
  extends Schema.TaggedError<IdentifierInUseError>("lmstudio-effect/IdentifierInUseError")("IdentifierInUseError", {
    identifier: Schema.String,
    title: Schema.String
  })
{
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId

  /** @since 0.1.0 */
  override get message(): string {
    return lines(
      `A model instance with identifier "${this.identifier}" already exists.`,
      "Choose another identifier, unload the existing instance first, or omit `identifier` to let " +
        "LM Studio assign one."
    )
  }
}

/**
 * LM Studio reported an error that has no more specific type. Everything the server said is kept
 * (each string bounded in length, structured data in depth and size).
 *
 * @since 0.1.0
 * @category errors
 */
export class ServerError extends Schema.TaggedError<ServerError>("lmstudio-effect/ServerError")("ServerError", {
  endpoint: Schema.String,
  title: Schema.String,
  /** The cause the server gave, if any. */
  serverCause: Schema.optional(Schema.String),
  suggestion: Schema.optional(Schema.String),
  displayData: Extra,
  errorData: Extra
}) {
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId

  /** @since 0.1.0 */
  override get message(): string {
    return lines(
      `LM Studio failed "${this.endpoint}": ${this.title}`,
      this.serverCause !== undefined ? `Cause: ${this.serverCause}` : undefined,
      this.suggestion !== undefined ? `Suggestion: ${this.suggestion}` : undefined
    )
  }
}

/**
 * The server sent something this client cannot understand (malformed JSON, a message of the wrong
 * shape). Usually a version mismatch between LM Studio and lmstudio-effect.
 *
 * @since 0.1.0
 * @category errors
 */
export class ProtocolError extends Schema.TaggedError<ProtocolError>("lmstudio-effect/ProtocolError")(
  "ProtocolError",
  { endpoint: Schema.optional(Schema.String), detail: Schema.String }
) {
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId

  /** @since 0.1.0 */
  override get message(): string {
    return lines(
      `LM Studio sent a malformed message${this.endpoint !== undefined ? ` for "${this.endpoint}"` : ""}: ${this.detail}`,
      "Make sure LM Studio is up to date; if it is, please report this to lmstudio-effect."
    )
  }

  /**
   * The error for server data that failed its schema: where, what was expected and a short
   * preview of what came (bounded whatever the data; `redact` removes secrets from the preview).
   *
   * @since 0.1.0
   */
  static fromParseError(
    error: ParseResult.ParseError,
    options?: { readonly endpoint?: string | undefined; readonly redact?: ((text: string) => string) | undefined }
  ): ProtocolError {
    const server = options?.redact === undefined ? ServerText.unscrubbed : ServerText.make(options.redact)
    return new ProtocolError({
      detail: ServerText.describeParseError(error, server),
      ...(options?.endpoint === undefined ? {} : { endpoint: options.endpoint })
    })
  }
}

/**
 * An argument was rejected before anything was sent to the server.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidArgumentError
  extends Schema.TaggedError<InvalidArgumentError>("lmstudio-effect/InvalidArgumentError")("InvalidArgumentError", {
    field: Schema.String,
    reason: Schema.String
  })
{
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId

  /** @since 0.1.0 */
  override get message(): string {
    return `Invalid ${this.field}: ${this.reason}`
  }
}

/**
 * A model load stopped making progress for longer than the configured inactivity timeout. The load
 * was cancelled; if the server still finished it, lmstudio-effect unloads it (best effort, bounded
 * in time).
 *
 * @since 0.1.0
 * @category errors
 */
export class LoadTimeoutError
  extends Schema.TaggedError<LoadTimeoutError>("lmstudio-effect/LoadTimeoutError")("LoadTimeoutError", {
    modelKey: Schema.String,
    inactivityMillis: Schema.Number
  })
{
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId

  /** @since 0.1.0 */
  override get message(): string {
    return lines(
      `Loading "${this.modelKey}" made no progress for ${this.inactivityMillis} ms; the load was cancelled ` +
        "(and undone if the server finished it anyway).",
      "LM Studio may be stuck or out of memory; check its logs, or raise `loadInactivityTimeout`."
    )
  }
}

/**
 * LM Studio ended a prediction with `stopReason` `"failed"` (an error while generating) or
 * `"modelUnloaded"` (the instance was unloaded mid-prediction). The text generated so far is on
 * `content`; it is not a whole answer.
 *
 * @since 0.2.0
 * @category errors
 */
export class PredictionFailedError
  extends Schema.TaggedError<PredictionFailedError>("lmstudio-effect/PredictionFailedError")("PredictionFailedError", {
    /** The instance that was predicting. */
    identifier: Schema.String,
    stopReason: Schema.Literal("failed", "modelUnloaded"),
    /** What was generated before the prediction ended. */
    content: Schema.String
  })
{
  /** @since 0.2.0 */
  readonly [TypeId]: TypeId = TypeId

  /** @since 0.2.0 */
  override get message(): string {
    return this.stopReason === "modelUnloaded"
      ? lines(
        `The model "${this.identifier}" was unloaded while it was predicting; the answer is incomplete ` +
          `(${this.content.length} characters were generated).`,
        "Load the model again (client.llm.model(key)) and retry."
      )
      : lines(
        `LM Studio failed while "${this.identifier}" was predicting; the answer is incomplete ` +
          `(${this.content.length} characters were generated).`,
        "Check LM Studio's logs (out of memory, a crashed engine), then retry."
      )
  }
}

/**
 * A prediction produced no packet (no progress, no token) for longer than its
 * `predictionInactivityTimeout`. It was cancelled; the text generated so far is on `content`.
 *
 * @since 0.2.0
 * @category errors
 */
export class PredictionTimeoutError
  extends Schema.TaggedError<PredictionTimeoutError>("lmstudio-effect/PredictionTimeoutError")(
    "PredictionTimeoutError",
    {
      identifier: Schema.String,
      inactivityMillis: Schema.Number,
      /** What was generated before the prediction stalled. */
      content: Schema.String
    }
  )
{
  /** @since 0.2.0 */
  readonly [TypeId]: TypeId = TypeId

  /** @since 0.2.0 */
  override get message(): string {
    return lines(
      `The prediction of "${this.identifier}" produced nothing for ${this.inactivityMillis} ms and was cancelled.`,
      "LM Studio may be stuck or overloaded; check its logs, or raise `predictionInactivityTimeout` " +
        "(per call, or on the client) for very long prompts."
    )
  }
}

/**
 * A structured prediction's answer is not valid JSON, or does not match the requested Schema.
 * The model's raw answer is on `content`.
 *
 * @since 0.2.0
 * @category errors
 */
export class StructuredOutputError
  extends Schema.TaggedError<StructuredOutputError>("lmstudio-effect/StructuredOutputError")("StructuredOutputError", {
    identifier: Schema.String,
    /** The model's raw answer. */
    content: Schema.String,
    /** Why it was rejected. */
    detail: Schema.String
  })
{
  /** @since 0.2.0 */
  readonly [TypeId]: TypeId = TypeId

  /** @since 0.2.0 */
  override get message(): string {
    const shown = this.content.length > 200 ? `${this.content.slice(0, 200)}…` : this.content
    return lines(
      `The structured answer of "${this.identifier}" does not match the requested schema: ${this.detail}`,
      `Answer: ${JSON.stringify(shown)}`,
      "If it was cut short (maxTokens, cancellation), allow more tokens; otherwise simplify the schema."
    )
  }
}

/**
 * Any lmstudio-effect error.
 *
 * @since 0.1.0
 * @category errors
 */
export type LMStudioError =
  | ConnectionError
  | AuthenticationError
  | ModelNotFoundError
  | IdentifierInUseError
  | ServerError
  | ProtocolError
  | InvalidArgumentError
  | LoadTimeoutError
  | PredictionFailedError
  | PredictionTimeoutError
  | StructuredOutputError

/**
 * Schema of the error union, for serialising errors across process boundaries.
 *
 * @since 0.1.0
 * @category schemas
 */
export const LMStudioError = Schema.Union(
  ConnectionError,
  AuthenticationError,
  ModelNotFoundError,
  IdentifierInUseError,
  ServerError,
  ProtocolError,
  InvalidArgumentError,
  LoadTimeoutError,
  PredictionFailedError,
  PredictionTimeoutError,
  StructuredOutputError
)

/**
 * Whether a value is one of lmstudio-effect's errors.
 *
 * @since 0.1.0
 * @category guards
 */
export const isLMStudioError = (u: unknown): u is LMStudioError => Predicate.hasProperty(u, TypeId)
