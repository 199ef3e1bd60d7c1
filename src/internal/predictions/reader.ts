/**
 * Reads the packets of one prediction channel: accumulates the answer, turns packets into
 * `PredictionEvent`s and builds the result from the terminal `success` packet.
 *
 * Fragments are nearly all of a prediction's traffic, so they are checked by hand; only the one
 * `success` packet goes through a Schema. Packet types this client does not know are ignored
 * (newer servers add them).
 *
 * @internal
 */
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import {
  PredictionFailedError,
  PredictionTimeoutError,
  ProtocolError,
  type StructuredOutputError
} from "../../LMStudioError.js"
import { LlmInstanceInfo } from "../../ModelInfo.js"
import * as Prediction from "../../Prediction.js"
import type { Structured } from "./structured.js"

/** Joins a channel's packets when the prediction produced nothing for too long. */
export const TIMED_OUT: unique symbol = Symbol("lmstudio-effect/PredictionTimedOut")

const SuccessPacket = Schema.Struct({
  type: Schema.Literal("success"),
  stats: Prediction.PredictionStats,
  modelInfo: LlmInstanceInfo,
  loadModelConfig: Prediction.ReportedConfig,
  predictionConfig: Prediction.ReportedConfig
})
const decodeSuccess = Schema.decodeUnknownEither(SuccessPacket)
const isDetails = Schema.is(Prediction.PromptProcessingDetails)

const NO_EVENTS: ReadonlyArray<never> = []
const NO_CALLS: ReadonlyArray<Prediction.ToolCallRequest> = Object.freeze([])

const REASONING_TYPES = new Set(["none", "reasoning", "reasoningStartTag", "reasoningEndTag"])

type Packet = { readonly type?: unknown; readonly [key: string]: unknown }

export type ReadError = ProtocolError | PredictionFailedError | PredictionTimeoutError | StructuredOutputError

export interface ReaderOptions {
  readonly endpoint: string
  readonly identifier: string
  readonly inactivityMillis: number
  readonly structured: Structured | undefined
  /** `false` when nobody consumes events: fragments only add to the answer. */
  readonly emitsEvents: boolean
  /** Removes secrets from server text put in errors. */
  readonly redact: (text: string) => string
}

/**
 * Text built from many small pieces, joined once when read: a `+=` per fragment keeps a chain of
 * string nodes alive for the whole prediction (several per fragment), which the GC copies again
 * and again while many predictions run.
 */
class Text {
  private parts: Array<string> = []
  add(piece: string): void {
    this.parts.push(piece)
  }
  get value(): string {
    if (this.parts.length > 1) this.parts = [this.parts.join("")]
    return this.parts[0] ?? ""
  }
}

export class PredictionReader {
  private readonly contentText = new Text()
  private readonly reasoningText = new Text()
  private readonly nonReasoningText = new Text()
  /** The answer so far: every fragment's text. */
  get content(): string {
    return this.contentText.value
  }
  get reasoningContent(): string {
    return this.reasoningText.value
  }
  get nonReasoningContent(): string {
    return this.nonReasoningText.value
  }
  /** The terminal `success` packet was read (whatever it said): nothing is left to cancel. */
  terminal = false
  /** The result, once `success` was read and it was a whole answer. */
  result: Prediction.PredictionResult | undefined = undefined
  private lastProgress = -1
  private callId = -1
  private nameReported = false
  /** The requests of the `ToolCallEnd` events, in order (allocated on the first call). */
  private toolCalls: Array<Prediction.ToolCallRequest> | undefined = undefined
  private argumentsStreamed = false

  constructor(readonly options: ReaderOptions) {}

  /** The events of one packet (often none), or why the prediction cannot go on. */
  read(raw: unknown): ReadonlyArray<Prediction.PredictionEvent> | ReadError {
    if (raw === TIMED_OUT) {
      return new PredictionTimeoutError({
        identifier: this.options.identifier,
        inactivityMillis: this.options.inactivityMillis,
        content: this.content
      })
    }
    if (typeof raw !== "object" || raw === null) return NO_EVENTS
    const packet = raw as Packet
    switch (packet.type) {
      case "fragment":
        return this.fragment(packet.fragment)
      case "promptProcessingProgress":
        return this.progress(packet)
      case "success":
        return this.success(raw)
      case "toolCallGenerationStart":
        return this.toolCallStart(packet)
      case "toolCallGenerationNameReceived":
        if (typeof packet.name !== "string") return NO_EVENTS
        this.nameReported = true
        return this.emit({ _tag: "ToolCallName", callId: this.currentCall(), name: packet.name })
      case "toolCallGenerationArgumentFragmentGenerated":
        if (typeof packet.content !== "string") return NO_EVENTS
        this.argumentsStreamed = true
        return this.emit({ _tag: "ToolCallArguments", callId: this.currentCall(), content: packet.content })
      case "toolCallGenerationEnd":
        return this.toolCallEnd(packet)
      case "toolCallGenerationFailed":
        return this.emit({
          _tag: "ToolCallFailed",
          callId: this.currentCall(),
          reason: this.options.redact(errorTitle(packet.error)),
          rawContent: typeof packet.rawContent === "string" ? packet.rawContent : undefined
        })
      default:
        return NO_EVENTS
    }
  }

  /** The channel ended without `success`. */
  endedEarly(): ProtocolError {
    return new ProtocolError({ endpoint: this.options.endpoint, detail: "the prediction channel closed before the prediction finished" })
  }

  private emit(event: Prediction.PredictionEvent): ReadonlyArray<Prediction.PredictionEvent> {
    return this.options.emitsEvents ? [event] : NO_EVENTS
  }

  private fragment(u: unknown): ReadonlyArray<Prediction.PredictionEvent> | ProtocolError {
    if (typeof u !== "object" || u === null || typeof (u as { content?: unknown }).content !== "string") {
      return new ProtocolError({ endpoint: this.options.endpoint, detail: "a fragment without text content" })
    }
    const f = u as Record<string, unknown>
    const content = f.content as string
    const reasoningType = (REASONING_TYPES.has(f.reasoningType as string) ? f.reasoningType : "none") as Prediction.ReasoningType
    const isStructural = f.isStructural === true
    this.contentText.add(content)
    if (!isStructural) {
      if (reasoningType === "none") this.nonReasoningText.add(content)
      else if (reasoningType === "reasoning") this.reasoningText.add(content)
    }
    if (!this.options.emitsEvents) return NO_EVENTS
    return [{
      _tag: "Fragment",
      content,
      tokensCount: typeof f.tokensCount === "number" ? f.tokensCount : 0,
      containsDrafted: f.containsDrafted === true,
      reasoningType,
      isStructural
    }]
  }

  private progress(packet: Packet): ReadonlyArray<Prediction.PredictionEvent> {
    if (typeof packet.progress !== "number") return NO_EVENTS
    const progress = Math.min(1, Math.max(0, packet.progress))
    if (!(progress > this.lastProgress)) return NO_EVENTS // repeats and regressions are dropped
    this.lastProgress = progress
    const details = isDetails(packet.details) ? packet.details : undefined
    return this.emit({ _tag: "PromptProcessing", progress, details })
  }

  private currentCall(): number {
    return this.callId < 0 ? 0 : this.callId
  }

  private toolCallStart(packet: Packet): ReadonlyArray<Prediction.PredictionEvent> {
    this.callId++
    this.nameReported = false
    this.argumentsStreamed = false
    return this.emit({
      _tag: "ToolCallStart",
      callId: this.callId,
      toolCallId: typeof packet.toolCallId === "string" ? packet.toolCallId : undefined
    })
  }

  /**
   * Records the request for the result's `toolCalls` (as `{ type, name, id?, arguments? }`, so it
   * can go back in a chat as is); a model without early name / argument reporting gets both
   * synthesised before the end. A request that is not a tool call (no name, an id that is not a
   * string, arguments that are not an object) is dropped, as the official client drops a packet
   * failing its schema.
   */
  private toolCallEnd(packet: Packet): ReadonlyArray<Prediction.PredictionEvent> {
    const request = toolCallRequest(packet.toolCallRequest)
    if (request === undefined) return NO_EVENTS
    this.toolCalls ??= []
    this.toolCalls.push(request)
    if (!this.options.emitsEvents) return NO_EVENTS
    const callId = this.currentCall()
    const events: Array<Prediction.PredictionEvent> = []
    if (!this.nameReported) events.push({ _tag: "ToolCallName", callId, name: request.name })
    if (!this.argumentsStreamed) {
      events.push({ _tag: "ToolCallArguments", callId, content: JSON.stringify(request.arguments ?? {}, null, 2) })
    }
    events.push({
      _tag: "ToolCallEnd",
      callId,
      request,
      rawContent: typeof packet.rawContent === "string" ? packet.rawContent : undefined
    })
    return events
  }

  private success(raw: unknown): ReadonlyArray<Prediction.PredictionEvent> | ReadError {
    this.terminal = true
    const decoded = decodeSuccess(raw)
    if (Either.isLeft(decoded)) {
      return ProtocolError.fromParseError(decoded.left, { endpoint: this.options.endpoint, redact: this.options.redact })
    }
    const packet = decoded.right
    const { stopReason } = packet.stats
    if (stopReason === "failed" || stopReason === "modelUnloaded") {
      return new PredictionFailedError({ identifier: this.options.identifier, stopReason, content: this.content })
    }
    let parsed: unknown = undefined
    if (this.options.structured !== undefined) {
      const value = this.options.structured.decode(this.content, this.options.identifier)
      if (Either.isLeft(value)) return value.left
      parsed = value.right
    }
    const result = new Prediction.PredictionResult({
      content: this.content,
      reasoningContent: this.reasoningContent,
      nonReasoningContent: this.nonReasoningContent,
      stats: packet.stats,
      modelInfo: packet.modelInfo,
      loadConfig: packet.loadModelConfig,
      predictionConfig: packet.predictionConfig,
      parsed,
      toolCalls: this.toolCalls ?? NO_CALLS
    }, true)
    this.result = result
    return [{ _tag: "Result", result }]
  }
}

/** A server's tool call request as ours, or `undefined` when it is not one (cheap checks, no Schema). */
const toolCallRequest = (u: unknown): Prediction.ToolCallRequest | undefined => {
  if (typeof u !== "object" || u === null) return undefined
  const { arguments: args, id, name } = u as Record<string, unknown>
  if (typeof name !== "string" || name === "") return undefined
  if (id !== undefined && typeof id !== "string") return undefined
  if (args !== undefined && (typeof args !== "object" || args === null || Array.isArray(args))) return undefined
  return {
    type: "function",
    name,
    ...(id === undefined ? undefined : { id }),
    ...(args === undefined ? undefined : { arguments: args as Record<string, unknown> })
  }
}

/** The title of a serialized server error, bounded. */
const errorTitle = (u: unknown): string => {
  const title = typeof u === "object" && u !== null ? (u as { title?: unknown }).title : undefined
  const text = typeof title === "string" ? title : "the tool call could not be parsed"
  return text.length > 500 ? `${text.slice(0, 500)}…` : text
}
