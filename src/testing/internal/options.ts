/**
 * The simulator's options with defaults applied and the API token split.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { API_TOKEN } from "../../internal/credentials.js"
import { defaultCatalog } from "../catalog.js"
import type { SimulatorOptions } from "../LMStudioSimulator.js"
import { DEFAULT_EMBEDDING_DIMENSION } from "./embedding.js"
import { normalizeModel } from "./models.js"
import type { ResolvedOptions } from "./state.js"
import { DEFAULT_TRAFFIC_LOG_SIZE } from "./trafficLog.js"

/** An LM Studio API token's identifier and passkey, or `undefined` if it is malformed. */
export const splitApiToken = (token: string): { readonly identifier: string; readonly passkey: string } | undefined => {
  const match = API_TOKEN.exec(token.trim())
  return match?.[1] !== undefined && match[2] !== undefined ? { identifier: match[1], passkey: match[2] } : undefined
}

/** Applies defaults and checks what a type cannot (a defect: these are programming errors). */
export const resolveOptions = (options: SimulatorOptions): Effect.Effect<ResolvedOptions> =>
  Effect.suspend(() => {
    const raw = options.apiToken === undefined
      ? undefined
      : typeof options.apiToken === "string"
      ? options.apiToken
      : Redacted.value(options.apiToken)
    const token = raw === undefined ? undefined : splitApiToken(raw)
    if (raw !== undefined && token === undefined) {
      return Effect.dieMessage(
        "LMStudioSimulator: apiToken must look like sk-lm-<8 letters/digits>:<20 letters/digits>"
      )
    }
    const trafficLogSize = options.trafficLogSize ?? DEFAULT_TRAFFIC_LOG_SIZE
    if (!Number.isSafeInteger(trafficLogSize) || trafficLogSize < 0) {
      return Effect.dieMessage(`LMStudioSimulator: trafficLogSize must be an integer ≥ 0, got ${trafficLogSize}`)
    }
    const catalog = options.catalog ?? defaultCatalog
    const badDimension = catalog.find((m) =>
      m.type === "embedding" && m.embeddingDimension !== undefined &&
      !(Number.isInteger(m.embeddingDimension) && m.embeddingDimension >= 1)
    )
    if (badDimension !== undefined) {
      return Effect.dieMessage(
        `LMStudioSimulator: embeddingDimension of "${badDimension.modelKey}" must be a positive integer`
      )
    }
    return Effect.succeed({
      host: options.host ?? "127.0.0.1",
      port: options.port ?? 0,
      catalog: catalog.map(normalizeModel),
      embeddingDimensions: new Map(
        catalog.flatMap((m) =>
          m.type === "embedding" ? [[m.modelKey, m.embeddingDimension ?? DEFAULT_EMBEDDING_DIMENSION] as const] : []
        )
      ),
      token,
      loadMs: Math.max(0, options.loadMs ?? 200),
      progressSteps: Math.max(1, Math.floor(options.progressSteps ?? 10)),
      jitAutoEvict: options.jitAutoEvict ?? true,
      version: options.version ?? { version: "0.3.31", build: 7 }, // [inferred] plausible version
      tokenMs: Math.max(0, options.tokenMs ?? 5),
      presets: options.presets ?? [],
      trafficLogSize
    })
  })
