/**
 * The `SerializedLMSExtendedError`s the simulator sends.
 *
 * Every error carries `title` and an equal `rootTitle` (the reference serializer sets them
 * equal; 1.5.0's default deserializer reads `rootTitle`). `stack` is never sent.
 *
 * @internal
 */
import * as Data from "effect/Data"
import type { SerializedError } from "../../internal/protocol/serializedError.js"
import type { ModelDomain, ModelInfo } from "../../ModelInfo.js"

const SAMPLE = 10 // [inferred] size of `availablePathsSample` / `loadedModelsSample`

/** A server-side failure of an RPC or channel, carried to the `rpcError` / `channelError`. */
export class ServerFailure extends Data.TaggedError("ServerFailure")<{ readonly error: SerializedError }> {}

/** Builds a failure with `title` = `rootTitle`. */
export const failure = (
  title: string,
  extra: {
    readonly cause?: string | undefined
    readonly suggestion?: string | undefined
    readonly displayData?: Record<string, unknown> | undefined
  } = {}
): ServerFailure =>
  new ServerFailure({
    error: {
      title,
      rootTitle: title,
      ...(extra.cause !== undefined ? { cause: extra.cause } : {}),
      ...(extra.suggestion !== undefined ? { suggestion: extra.suggestion } : {}),
      ...(extra.displayData !== undefined ? { displayData: extra.displayData } : {})
    }
  })

/**
 * Unknown model key (`generic.pathNotFound`). The sample lists the *model keys* of the
 * namespace's downloaded models, what a user can type [inferred: LM Studio lists paths].
 */
export const pathNotFound = (path: string, models: ReadonlyArray<ModelInfo>): ServerFailure =>
  failure(`Model not found: "${path}"`, {
    suggestion: models.length === 0
      ? "No model of this kind is downloaded."
      : `Use one of the downloaded model keys: ${models.slice(0, SAMPLE).map((m) => m.modelKey).join(", ")}` +
        (models.length > SAMPLE ? `, … (${models.length} in all)` : ""),
    displayData: {
      code: "generic.pathNotFound",
      path,
      availablePathsSample: models.slice(0, SAMPLE).map((m) => m.modelKey),
      totalModels: models.length
    }
  })

/**
 * A key matching several different models where one answer is needed (`getOrLoad`). Sent as `generic.pathNotFound` listing the candidates, so every client reports it as
 * "model not found" with the keys to choose from [inferred].
 */
export const ambiguousModel = (path: string, candidates: ReadonlyArray<string>): ServerFailure =>
  failure(`Model key "${path}" is ambiguous`, {
    suggestion: `"${path}" matches ${candidates.length} models: ${candidates.join(", ")}. Use one of these model keys.`,
    displayData: {
      code: "generic.pathNotFound",
      path,
      availablePathsSample: candidates.slice(0, SAMPLE),
      totalModels: candidates.length
    }
  })

/** A model of the wrong domain, e.g. an embedding model on `/llm` [inferred]. */
export const domainMismatch = (path: string, actual: ModelDomain, expected: ModelDomain): ServerFailure =>
  failure(`Model "${path}" is not ${expected === "llm" ? "an LLM" : "an embedding model"}`, {
    displayData: { code: "generic.domainMismatch", path, actualDomain: actual, expectedDomain: expected }
  })

/** No loaded model fits a query or identifier (exact example shape). */
export const noModelMatchingQuery = (
  query: Record<string, unknown>,
  loadedIdentifiers: ReadonlyArray<string>
): ServerFailure =>
  failure("No model found that fits the query", {
    displayData: {
      code: "generic.noModelMatchingQuery",
      query,
      loadedModelsSample: loadedIdentifiers.slice(0, SAMPLE),
      totalLoadedModels: loadedIdentifiers.length
    }
  })

/** Explicit identifier in use: title only, so Python's message stays single-line. */
export const identifierAlreadyExists = (identifier: string): ServerFailure =>
  failure(`Model with identifier "${identifier}" already exists`)

/** A load cancelled by the client [inferred wording]. */
export const loadCancelled: ServerFailure = failure("Model loading was cancelled")

/** An `instanceReference` whose instance is gone [inferred title]. */
export const specificModelUnloaded: ServerFailure = failure("Model has been unloaded", {
  displayData: { code: "generic.specificModelUnloaded" }
})

/**
 * A parameter the endpoint's schema refuses. The reference server only sends a
 * `communicationWarning` here, which leaves the caller waiting forever; the simulator
 * answers with an error instead, so a bad call fails a test rather than hanging it [inferred].
 */
export const invalidParameter = (endpoint: string, problem: string): ServerFailure =>
  failure(`Invalid parameter for "${endpoint}": ${problem.slice(0, 500)}`)

/** A file part naming an identifier that was never uploaded to this server [inferred wording]. */
export const fileNotFound = (identifier: string): ServerFailure =>
  failure(`File "${identifier}" not found`, {
    suggestion: "Upload the file first (uploadFileBase64 on the files namespace) and use the identifier it returns."
  })

/** An image sent to a model without vision [inferred wording]. */
export const imagesNotSupported = (identifier: string, modelKey: string): ServerFailure =>
  failure(`Model "${identifier}" does not support images`, {
    cause: `${modelKey} is not a vision model`,
    suggestion: "Send the image to a vision model (one whose info says vision: true), or remove it from the chat."
  })
