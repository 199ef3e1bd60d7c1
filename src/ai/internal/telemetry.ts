/**
 * OpenTelemetry GenAI attributes on the span `@effect/ai` opens for each request (its
 * `LanguageModel.generateText` / `streamText` span): the system, the model and sampling settings
 * asked for, and the finish reason and token usage.
 *
 * @internal
 */
import type * as Response from "@effect/ai/Response"
import * as Telemetry from "@effect/ai/Telemetry"
import type { Span } from "effect/Tracer"
import type { PredictionConfig } from "../../PredictionConfig.js"

export const annotateRequest = (span: Span, model: string, config: PredictionConfig): void =>
  Telemetry.addGenAIAnnotations(span, {
    system: "lmstudio",
    operation: { name: "chat" },
    request: {
      model,
      temperature: config.temperature,
      maxTokens: typeof config.maxTokens === "number" && config.maxTokens > 0 ? config.maxTokens : undefined,
      topK: config.topKSampling,
      topP: typeof config.topPSampling === "number" ? config.topPSampling : undefined,
      stopSequences: config.stopStrings
    }
  })

export const annotateResult = (span: Span, id: string, model: string, finish: Response.FinishPartEncoded): void =>
  Telemetry.addGenAIAnnotations(span, {
    response: { id, model, finishReasons: [finish.reason] },
    usage: { inputTokens: finish.usage.inputTokens, outputTokens: finish.usage.outputTokens }
  })
