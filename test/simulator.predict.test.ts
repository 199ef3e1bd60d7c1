/**
 * The simulator's prediction channels seen through a raw `ws` client: determinism, pacing on
 * `TestClock`, limits, reasoning, structured output, tools, errors and prediction faults.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as JSONSchema from "effect/JSONSchema"
import * as Schema from "effect/Schema"
import * as TestClock from "effect/TestClock"
import { LMStudioSimulator } from "lmstudio-effect/testing"
import { pieces as tokenPieces, tokenizeLlm as tokenize } from "../src/testing/internal/tokenizer.js"
import { call, channel, connect, type Frame, packets, realSleep, untilEnd } from "./support/rawSocket.js"

const LLAMA = "llama-3.2-1b-instruct"
const R1 = "deepseek-r1-distill-qwen-1.5b"
const VISION = "qwen2-vl-2b-instruct"
/** A 1×1 PNG. */
const DOT_PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="

const byIdentifier = (identifier: string) => ({ type: "query", query: { identifier } })
const user = (text: string) => ({ role: "user", content: [{ type: "text", text }] })
const stack = (fields: ReadonlyArray<{ key: string; value: unknown }> = []) => ({
  layers: [{ layerName: "apiOverride", config: { fields } }]
})
const predictParameter = (
  text: string,
  fields: ReadonlyArray<{ key: string; value: unknown }> = [],
  identifier = LLAMA
) => ({ modelSpecifier: byIdentifier(identifier), history: { messages: [user(text)] }, predictionConfigStack: stack(fields) })

const fragmentsOf = (frames: ReadonlyArray<Frame>) => packets(frames).filter((p) => p.type === "fragment")
const contentOf = (frames: ReadonlyArray<Frame>) => fragmentsOf(frames).map((p) => p.fragment.content).join("")
const successOf = (frames: ReadonlyArray<Frame>) => packets(frames).find((p) => p.type === "success")

/** A simulator with LLAMA loaded and an authenticated /llm socket. */
const setup = (options: LMStudioSimulator.SimulatorOptions = {}) =>
  Effect.gen(function*() {
    const sim = yield* LMStudioSimulator.make({ loadMs: 0, tokenMs: 0, ...options })
    yield* sim.preload(LLAMA)
    const client = yield* connect(sim.url, "llm")
    return { sim, client }
  })

describe("simulator predictions", () => {
  it("the tokenizer is stable and reversible", () => {
    const text = "Hello, wörld! 42 internationalization\n\n  done."
    assert.strictEqual(tokenPieces(text).join(""), text)
    assert.deepStrictEqual(tokenize(text), tokenize(text))
    assert.deepStrictEqual(tokenPieces("Say hi"), ["Say", " hi"])
    assert.notDeepEqual(tokenize("cat"), tokenize("dog"))
  })

  it.scopedLive("the same chat, config and model give the same fragments, on any simulator", () =>
    Effect.gen(function*() {
      const { client } = yield* setup()
      const other = yield* setup()
      const parameter = predictParameter("Tell me about owls", [{ key: "llm.prediction.temperature", value: 0.2 }])
      const first = fragmentsOf(yield* channel(client, 0, "predict", parameter))
      const second = fragmentsOf(yield* channel(client, 1, "predict", parameter))
      const elsewhere = fragmentsOf(yield* channel(other.client, 0, "predict", parameter))
      assert.isAtLeast(first.length, 8)
      assert.deepStrictEqual(second, first)
      assert.deepStrictEqual(elsewhere, first)
      for (const { fragment } of first) {
        assert.deepStrictEqual(Object.keys(fragment).sort(), ["containsDrafted", "content", "isStructural", "reasoningType", "tokensCount"])
        assert.strictEqual(fragment.tokensCount, 1)
      }
      // Another model answers differently (the reply depends on the model).
      yield* other.sim.preload("qwen2.5-7b-instruct")
      const qwen = yield* channel(other.client, 1, "predict", predictParameter("Tell me about owls", [], "qwen2.5-7b-instruct"))
      assert.include(contentOf(qwen), "Tell me about owls")
    }))

  it.scoped("tokens are paced by tokenMs on the Clock; progress 0 then 1 with details come first", () =>
    Effect.gen(function*() {
      const { client } = yield* setup({ tokenMs: 100 })
      yield* client.send({ type: "channelCreate", endpoint: "predict", channelId: 0, creationParameter: predictParameter("Say hi") })
      const first = yield* client.next
      assert.strictEqual(first.message.type, "promptProcessingProgress")
      assert.strictEqual(first.message.progress, 0)
      const total = first.message.details.totalPromptTokenCount
      assert.deepStrictEqual(first.message.details, {
        cachedTokenCount: 0,
        totalPromptTokenCount: total,
        processedPromptTokenCount: 0,
        unprocessedPromptTokenCount: total
      })
      yield* realSleep(30)
      assert.strictEqual(yield* client.backlog, 0) // nothing moves until the clock does
      yield* TestClock.adjust(100)
      const second = yield* client.next
      assert.strictEqual(second.message.progress, 1)
      assert.strictEqual(second.message.details.processedPromptTokenCount, total)
      yield* realSleep(30)
      assert.strictEqual(yield* client.backlog, 0)
      yield* TestClock.adjust(100)
      assert.strictEqual((yield* client.next).message.type, "fragment")
      yield* realSleep(30)
      assert.strictEqual(yield* client.backlog, 0)
      // Let the rest run out.
      const done = yield* Effect.fork(untilEnd(client, 0))
      for (let i = 0; i < 40; i++) {
        yield* TestClock.adjust(100)
        yield* realSleep(1)
      }
      const rest = yield* done.await
      assert.strictEqual(rest._tag, "Success")
    }))

  it.scopedLive("tokenMs 0: a cancel sent right behind the create still stops it before any packet", () =>
    Effect.gen(function*() {
      const { client } = yield* setup({ tokenMs: 0 })
      yield* client.sendAll([
        { type: "channelCreate", endpoint: "predict", channelId: 0, creationParameter: predictParameter("Say hi") },
        { type: "channelSend", channelId: 0, message: { type: "cancel" } }
      ])
      const frames = yield* untilEnd(client, 0)
      assert.deepStrictEqual(packets(frames).map((p) => p.type), ["success"])
      const { stats } = successOf(frames)
      assert.strictEqual(stats.stopReason, "userStopped")
      assert.strictEqual(stats.predictedTokensCount, 0)
      assert.strictEqual(stats.totalTokensCount, stats.promptTokensCount)
      assert.strictEqual(frames.at(-1).type, "channelClose")
    }))

  it.scopedLive("tokenMs 0: a cancel sent on the first fragment stops the prediction early", () =>
    Effect.gen(function*() {
      const { client } = yield* setup({ tokenMs: 0 })
      const full = fragmentsOf(yield* channel(client, 0, "predict", predictParameter("Say hi"))).length
      yield* client.send({ type: "channelCreate", endpoint: "predict", channelId: 1, creationParameter: predictParameter("Say hi") })
      while ((yield* client.next).message?.type !== "fragment") {
        // progress packets
      }
      yield* client.send({ type: "channelSend", channelId: 1, message: { type: "cancel" } })
      const { stats } = successOf(yield* untilEnd(client, 1))
      assert.strictEqual(stats.stopReason, "userStopped")
      assert.isBelow(stats.predictedTokensCount, full)
    }))

  it.scopedLive("maxTokens: exactly N tokens; a reply that fits ends with EOS counted", () =>
    Effect.gen(function*() {
      const { client } = yield* setup()
      const full = yield* channel(client, 0, "predict", predictParameter("Say hi"))
      const n = fragmentsOf(full).length
      const max = (value: number, id: number) =>
        channel(client, id, "predict", predictParameter("Say hi", [{ key: "llm.prediction.maxPredictedTokens", value: { checked: true, value } }]))
      const cut = yield* max(5, 1)
      assert.lengthOf(fragmentsOf(cut), 5)
      assert.strictEqual(successOf(cut).stats.stopReason, "maxPredictedTokensReached")
      assert.strictEqual(successOf(cut).stats.predictedTokensCount, 5)
      const exact = yield* max(n, 2) // room for the text but not for EOS
      assert.strictEqual(successOf(exact).stats.stopReason, "maxPredictedTokensReached")
      const roomy = yield* max(n + 1, 3)
      assert.strictEqual(successOf(roomy).stats.stopReason, "eosFound")
      assert.strictEqual(successOf(roomy).stats.predictedTokensCount, n + 1)
      const unchecked = yield* channel(
        client,
        4,
        "predict",
        predictParameter("Say hi", [{ key: "llm.prediction.maxPredictedTokens", value: { checked: false, value: 1 } }])
      )
      assert.strictEqual(successOf(unchecked).stats.stopReason, "eosFound")
    }))

  it.scopedLive("a stop string inside a token: the part before it is sent, the rest never", () =>
    Effect.gen(function*() {
      const { client } = yield* setup()
      const full = contentOf(yield* channel(client, 0, "predict", predictParameter("Say hi")))
      assert.include(full, " wrote")
      const frames = yield* channel(client, 1, "predict", predictParameter("Say hi", [{ key: "llm.prediction.stopStrings", value: ["rote", "zzz"] }]))
      assert.strictEqual(contentOf(frames), full.slice(0, full.indexOf("rote")))
      assert.isTrue(contentOf(frames).endsWith(" w"))
      const { stats } = successOf(frames)
      assert.strictEqual(stats.stopReason, "stopStringFound")
      assert.strictEqual(stats.stopString, "rote")
      assert.strictEqual(stats.predictedTokensCount, fragmentsOf(frames).length)
    }))

  it.scopedLive("contextOverflowPolicy stopAtLimit stops at the instance's context length; prompt counts match applyPromptTemplate", () =>
    Effect.gen(function*() {
      const { client, sim } = yield* setup()
      const history = { messages: [user("Say hi")] }
      const formatted = yield* call(client, 0, "applyPromptTemplate", {
        specifier: byIdentifier(LLAMA),
        history,
        predictionConfigStack: { layers: [] },
        opts: {}
      })
      const counted = yield* call(client, 1, "countTokens", { specifier: byIdentifier(LLAMA), inputString: formatted.result.formatted })
      const promptTokens: number = counted.result.tokenCount
      yield* sim.preload(LLAMA, { identifier: "small", config: [{ key: "llm.load.contextLength", value: promptTokens + 10 }] })
      const policy = (value: string) => [{ key: "llm.prediction.contextOverflowPolicy", value }]
      const stopped = successOf(yield* channel(client, 2, "predict", predictParameter("Say hi", policy("stopAtLimit"), "small")))
      assert.strictEqual(stopped.stats.stopReason, "contextLengthReached")
      assert.strictEqual(stopped.stats.promptTokensCount, promptTokens)
      assert.strictEqual(stopped.stats.predictedTokensCount, 10)
      assert.strictEqual(stopped.stats.totalTokensCount, promptTokens + 10)
      const rolling = successOf(yield* channel(client, 3, "predict", predictParameter("Say hi", policy("rollingWindow"), "small")))
      assert.strictEqual(rolling.stats.stopReason, "eosFound")
      assert.deepStrictEqual(stopped.modelInfo, { ...rolling.modelInfo, lastUsedTime: stopped.modelInfo.lastUsedTime })
      assert.deepStrictEqual(stopped.loadModelConfig.fields.find((f: Frame) => f.key === "llm.load.contextLength"), {
        key: "llm.load.contextLength",
        value: promptTokens + 10
      })
      assert.deepStrictEqual(stopped.predictionConfig, { fields: policy("stopAtLimit") })
    }))

  it.scopedLive("completeRawText and the pass-through template count the prompt raw and continue it", () =>
    Effect.gen(function*() {
      const { client } = yield* setup()
      const raw = yield* channel(client, 0, "completeRawText", {
        modelSpecifier: byIdentifier(LLAMA),
        rawPrompt: "Once upon a time",
        predictionConfigStack: stack()
      })
      const template = {
        type: "jinja",
        jinjaPromptTemplate: { template: "{% for message in messages %}{{ message['content'] }}{% endfor %}" },
        stopStrings: []
      }
      const viaPredict = yield* channel(client, 1, "predict", {
        modelSpecifier: byIdentifier(LLAMA),
        history: { messages: [user("Once upon a time")] },
        predictionConfigStack: {
          layers: [
            { layerName: "apiOverride", config: { fields: [{ key: "llm.prediction.stopStrings", value: [] }] } },
            { layerName: "completeModeFormatting", config: { fields: [{ key: "llm.prediction.promptTemplate", value: template }] } }
          ]
        }
      })
      assert.strictEqual(successOf(raw).stats.promptTokensCount, 4)
      assert.strictEqual(successOf(viaPredict).stats.promptTokensCount, 4)
      assert.strictEqual(contentOf(viaPredict), contentOf(raw))
      assert.notInclude(contentOf(raw), "You wrote")
      assert.notInclude(packets(raw).map((p) => p.type), "toolCallGenerationStart")
    }))

  it.scopedLive("reasoning: <think> split on the reasoning model, custom tags anywhere, thinking off", () =>
    Effect.gen(function*() {
      const { client, sim } = yield* setup()
      yield* sim.preload(R1)
      const thinking = fragmentsOf(yield* channel(client, 0, "predict", predictParameter("Why?", [], R1)))
      const types = thinking.map((p) => p.fragment.reasoningType)
      assert.strictEqual(thinking[0].fragment.content, "<think>")
      assert.strictEqual(types[0], "reasoningStartTag")
      const end = types.indexOf("reasoningEndTag")
      assert.strictEqual(thinking[end].fragment.content, "</think>")
      assert.isTrue(types.slice(1, end).every((t) => t === "reasoning"))
      assert.isTrue(types.slice(end + 1).every((t) => t === "none"))
      const off = yield* channel(client, 1, "predict", predictParameter("Why?", [{ key: "llm.prediction.reasoning.enableThinking", value: false }], R1))
      assert.notInclude(contentOf(off), "<think>")
      // Any delimiters, on any model (as in LM Studio's own tests): here "You" … "wrote".
      const custom = fragmentsOf(yield* channel(client, 2, "predict", predictParameter("Say hi", [{
        key: "llm.prediction.reasoning.parsing",
        value: { enabled: true, startString: "You", endString: "wrote" }
      }])))
      const marked = custom.filter((p) => p.fragment.reasoningType !== "none").map((p) => [p.fragment.reasoningType, p.fragment.content])
      assert.deepStrictEqual(marked, [["reasoningStartTag", "You"], ["reasoning", " "], ["reasoningEndTag", "wrote"]])
    }))

  it.scopedLive("structured output: a JSON value valid for an Effect Schema's JSON Schema ($defs, $ref, anyOf, tuples, recursion)", () =>
    Effect.gen(function*() {
      const { client } = yield* setup()
      interface Node {
        readonly name: string
        readonly children: ReadonlyArray<Node>
      }
      const Node: Schema.Schema<Node> = Schema.Struct({
        name: Schema.String,
        children: Schema.Array(Schema.suspend(() => Node))
      }).annotations({ identifier: "Node" })
      const Answer = Schema.Struct({
        kind: Schema.Literal("a", "b"),
        count: Schema.Int.pipe(Schema.between(3, 9)),
        ratio: Schema.Number.pipe(Schema.greaterThan(0), Schema.lessThan(1)),
        label: Schema.NullOr(Schema.NonEmptyString),
        pair: Schema.Tuple(Schema.Number, Schema.Boolean),
        tags: Schema.Array(Schema.String).pipe(Schema.minItems(2), Schema.maxItems(2)),
        code: Schema.String.pipe(Schema.length(6)),
        fixed: Schema.Literal("fixed"),
        tree: Node
      })
      const frames = yield* channel(client, 0, "predict", predictParameter("Describe owls and ravens", [{
        key: "llm.prediction.structured",
        value: { type: "json", jsonSchema: JSONSchema.make(Answer) }
      }]))
      const value = JSON.parse(contentOf(frames))
      Schema.decodeUnknownSync(Answer)(value)
      assert.isTrue(fragmentsOf(frames).every((p) => p.fragment.tokensCount === 1))
      // Without a schema: some JSON.
      const any = yield* channel(client, 1, "predict", predictParameter("Anything", [{ key: "llm.prediction.structured", value: { type: "json" } }]))
      assert.doesNotThrow(() => JSON.parse(contentOf(any)))
    }))

  it.scopedLive("tools: Start → Name → argument fragments → End when the user names a tool; text after tool results", () =>
    Effect.gen(function*() {
      const { client } = yield* setup()
      const tools = {
        key: "llm.prediction.tools",
        value: {
          type: "toolArray",
          tools: [{
            type: "function",
            function: {
              name: "get_weather",
              parameters: {
                type: "object",
                properties: { city: { type: "string" }, unit: { type: "string", enum: ["C", "F"] } },
                required: ["city", "unit"]
              }
            }
          }, { type: "function", function: { name: "unused_tool" } }]
        }
      }
      const round1 = packets(yield* channel(client, 0, "predict", predictParameter("What does get weather say for Oslo?", [tools])))
      const calls = round1.filter((p) => p.type.startsWith("toolCallGeneration"))
      assert.strictEqual(calls[0].type, "toolCallGenerationStart")
      assert.strictEqual(calls[1].type, "toolCallGenerationNameReceived")
      assert.strictEqual(calls[1].name, "get_weather")
      const end = calls.at(-1)
      assert.strictEqual(end.type, "toolCallGenerationEnd")
      assert.strictEqual(end.toolCallRequest.id, calls[0].toolCallId)
      assert.strictEqual(end.toolCallRequest.name, "get_weather")
      assert.include(["C", "F"], end.toolCallRequest.arguments.unit)
      assert.isString(end.toolCallRequest.arguments.city)
      const argumentText = calls.filter((p) => p.type === "toolCallGenerationArgumentFragmentGenerated").map((p) => p.content).join("")
      assert.deepStrictEqual(JSON.parse(argumentText), end.toolCallRequest.arguments)
      assert.strictEqual(round1.at(-1).stats.stopReason, "eosFound")
      // Round 2: the tool result is in; the model answers in text, calling nothing.
      const round2 = packets(yield* channel(client, 1, "predict", {
        modelSpecifier: byIdentifier(LLAMA),
        history: {
          messages: [
            user("What does get weather say for Oslo?"),
            { role: "assistant", content: [{ type: "toolCallRequest", toolCallRequest: end.toolCallRequest }] },
            { role: "tool", content: [{ type: "toolCallResult", content: "{\"tempC\":3}", toolCallId: end.toolCallRequest.id, name: "get_weather" }] }
          ]
        },
        predictionConfigStack: stack([tools])
      }))
      assert.notInclude(round2.map((p) => p.type), "toolCallGenerationStart")
      assert.include(round2.filter((p) => p.type === "fragment").map((p) => p.fragment.content).join(""), "tempC")
      // toolChoice: "required" calls the first tool unasked; "none" never calls one.
      const choice = (mode: string) => ({ key: "llm.prediction.toolChoice", value: { type: "generic", mode } })
      const callNames = (frames: ReadonlyArray<Frame>) =>
        packets(frames).filter((p) => p.type === "toolCallGenerationNameReceived").map((p) => p.name)
      assert.deepStrictEqual(callNames(yield* channel(client, 2, "predict", predictParameter("Hello", [tools, choice("required")]))), ["get_weather"])
      assert.deepStrictEqual(callNames(yield* channel(client, 3, "predict", predictParameter("Use get_weather", [tools, choice("none")]))), [])
    }))

  it.scopedLive("speculative decoding: drafted fragments and draft statistics; an unknown draft model is refused", () =>
    Effect.gen(function*() {
      const { client } = yield* setup()
      const draft = (key: string) => [{ key: "llm.prediction.speculativeDecoding.draftModel", value: key }]
      const plain = fragmentsOf(yield* channel(client, 0, "predict", predictParameter("Say hi")))
      const frames = yield* channel(client, 1, "predict", predictParameter("Say hi", draft("qwen2.5-7b-instruct")))
      const drafted = fragmentsOf(frames)
      assert.deepStrictEqual(drafted.map((p) => p.fragment.content), plain.map((p) => p.fragment.content))
      assert.isTrue(drafted.some((p) => p.fragment.containsDrafted))
      assert.isTrue(plain.every((p) => !p.fragment.containsDrafted))
      const { stats } = successOf(frames)
      assert.strictEqual(stats.usedDraftModelKey, "qwen2.5-7b-instruct")
      // Drafted fragments were accepted drafts (the EOS token may be one too).
      assert.isAtLeast(stats.acceptedDraftTokensCount, drafted.filter((p) => p.fragment.containsDrafted).length)
      assert.isAtMost(stats.acceptedDraftTokensCount, stats.predictedTokensCount)
      assert.strictEqual(
        stats.totalDraftTokensCount,
        stats.acceptedDraftTokensCount + stats.rejectedDraftTokensCount + stats.ignoredDraftTokensCount
      )
      const [missing] = yield* channel(client, 2, "predict", predictParameter("Say hi", draft("no-such-draft")))
      assert.strictEqual(missing.type, "channelError")
      assert.strictEqual(missing.error.displayData.code, "generic.pathNotFound")
    }))

  it.scopedLive("logProbs: fragments carry token details only when asked", () =>
    Effect.gen(function*() {
      const { client } = yield* setup()
      const plain = fragmentsOf(yield* channel(client, 0, "predict", predictParameter("Say hi")))
      assert.isTrue(plain.every((p) => !("tokens" in p.fragment)))
      const detailed = fragmentsOf(yield* channel(client, 1, "predict", predictParameter("Say hi", [{
        key: "llm.prediction.logProbs",
        value: { checked: true, value: 3 }
      }])))
      assert.deepStrictEqual(detailed.map((p) => p.fragment.content), plain.map((p) => p.fragment.content))
      for (const { fragment } of detailed) {
        const [token] = fragment.tokens
        assert.strictEqual(token.text, fragment.content)
        assert.deepStrictEqual(token.id, tokenize(fragment.content)[0])
        assert.isAtMost(token.logProb, 0)
        assert.lengthOf(token.candidates, 3)
        assert.deepStrictEqual(token.candidates[0], { text: token.text, id: token.id, logProb: token.logProb })
      }
    }))

  it.scopedLive("errors are channelErrors at once: unknown model or instance, unknown preset, bad history, bad config, image without vision", () =>
    Effect.gen(function*() {
      const { client, sim } = yield* setup()
      const errorOf = (frames: ReadonlyArray<Frame>) => {
        assert.lengthOf(frames, 1)
        assert.strictEqual(frames[0].type, "channelError")
        return frames[0].error
      }
      const unknown = errorOf(yield* channel(client, 0, "predict", predictParameter("hi", [], "nope")))
      assert.strictEqual(unknown.displayData.code, "generic.noModelMatchingQuery")
      assert.deepStrictEqual(unknown.displayData.loadedModelsSample, [LLAMA])
      const gone = errorOf(yield* channel(client, 1, "completeRawText", {
        modelSpecifier: { type: "instanceReference", instanceReference: "gone" },
        rawPrompt: "x",
        predictionConfigStack: stack()
      }))
      assert.strictEqual(gone.displayData.code, "generic.noModelMatchingQuery")
      const preset = errorOf(yield* channel(client, 2, "predict", { ...predictParameter("hi"), fuzzyPresetIdentifier: "mine" }))
      assert.deepStrictEqual(preset.displayData, {
        code: "generic.presetNotFound",
        specifiedFuzzyPresetIdentifier: "mine",
        availablePresetsSample: [],
        totalAvailablePresets: 0
      })
      const badHistory = errorOf(yield* channel(client, 3, "predict", {
        ...predictParameter("hi"),
        history: { messages: [{ role: "user", content: [{ type: "toolCallResult", content: "x" }] }] }
      }))
      assert.include(badHistory.title, "Invalid creation parameter")
      const badConfig = errorOf(yield* channel(client, 4, "predict", predictParameter("hi", [{ key: "llm.prediction.maxPredictedTokens", value: "ten" }])))
      assert.include(badConfig.title, "llm.prediction.maxPredictedTokens")
      const withFile = (file: Frame, identifier = LLAMA) => ({
        modelSpecifier: byIdentifier(identifier),
        history: { messages: [{ role: "user", content: [{ type: "file", ...file }, { type: "text", text: "What is this?" }] }] },
        predictionConfigStack: stack()
      })
      const neverUploaded = errorOf(yield* channel(client, 5, "predict", withFile({
        name: "dot.png",
        identifier: "1-dot.png",
        sizeBytes: 68,
        fileType: "image"
      })))
      assert.include(neverUploaded.title, "not found")
      const files = yield* connect(sim.url, "files")
      const uploaded = yield* call(files, 0, "uploadFileBase64", { name: "dot.png", contentBase64: DOT_PNG })
      assert.strictEqual(uploaded.result.fileType, "image")
      const image = { name: "dot.png", ...uploaded.result }
      const refused = errorOf(yield* channel(client, 6, "predict", withFile(image)))
      assert.include(refused.title, "does not support images")
      yield* sim.preload(VISION)
      const seen = yield* channel(client, 7, "predict", withFile(image, VISION))
      assert.strictEqual(successOf(seen).stats.stopReason, "eosFound")
    }))

  it.scoped("a prediction resets the instance's idle TTL", () =>
    Effect.gen(function*() {
      const sim = yield* LMStudioSimulator.make({ loadMs: 0, tokenMs: 0 })
      yield* sim.preload(LLAMA, { ttlMs: 1000 })
      const client = yield* connect(sim.url, "llm")
      yield* TestClock.adjust(800)
      const frames = yield* channel(client, 0, "predict", predictParameter("Say hi"))
      assert.strictEqual(successOf(frames).modelInfo.lastUsedTime, 800)
      yield* realSleep(10) // let the restarted timer start sleeping
      yield* TestClock.adjust(800)
      assert.lengthOf(yield* sim.loaded, 1)
      yield* TestClock.adjust(200)
      assert.lengthOf(yield* sim.loaded, 0)
    }))

  describe("faults", () => {
    it.scopedLive("stallPredictionAfter(n): n fragments, then silence until a cancel", () =>
      Effect.gen(function*() {
        const { client, sim } = yield* setup()
        yield* sim.faults.stallPredictionAfter(2)
        yield* client.send({ type: "channelCreate", endpoint: "predict", channelId: 0, creationParameter: predictParameter("Say hi") })
        const seen: Array<Frame> = []
        while (seen.filter((f) => f.message?.type === "fragment").length < 2) seen.push(yield* client.next)
        yield* realSleep(60)
        assert.strictEqual(yield* client.backlog, 0)
        assert.strictEqual(yield* sim.activePredictions, 1)
        yield* client.send({ type: "channelSend", channelId: 0, message: { type: "cancel" } })
        const rest = yield* untilEnd(client, 0)
        assert.strictEqual(yield* sim.activePredictions, 0)
        assert.strictEqual(successOf(rest).stats.stopReason, "userStopped")
        assert.strictEqual(successOf(rest).stats.predictedTokensCount, 2)
        // One-shot: the next prediction is normal.
        const next = yield* channel(client, 1, "predict", predictParameter("Say hi"))
        assert.strictEqual(successOf(next).stats.stopReason, "eosFound")
        // A stalled prediction whose instance is unloaded ends with modelUnloaded.
        yield* sim.faults.stallPredictionAfter(0)
        yield* client.send({ type: "channelCreate", endpoint: "predict", channelId: 2, creationParameter: predictParameter("Say hi") })
        while ((yield* sim.activePredictions) === 0) yield* realSleep(5)
        yield* sim.unloadAll
        const unloaded = yield* untilEnd(client, 2)
        assert.strictEqual(successOf(unloaded).stats.stopReason, "modelUnloaded")
        assert.strictEqual(successOf(unloaded).stats.predictedTokensCount, 0)
      }))

    it.scopedLive("failPredictionAfter(n): success with stopReason failed after n fragments", () =>
      Effect.gen(function*() {
        const { client, sim } = yield* setup()
        yield* sim.faults.failPredictionAfter(3)
        const frames = yield* channel(client, 0, "predict", predictParameter("Say hi"))
        assert.lengthOf(fragmentsOf(frames), 3)
        assert.strictEqual(successOf(frames).stats.stopReason, "failed")
        assert.strictEqual(frames.at(-1).type, "channelClose")
      }))

    it.scopedLive("dropPredictionAfter(n): the socket is terminated after n fragments", () =>
      Effect.gen(function*() {
        const { client, sim } = yield* setup()
        yield* sim.faults.dropPredictionAfter(1)
        yield* client.send({ type: "channelCreate", endpoint: "predict", channelId: 0, creationParameter: predictParameter("Say hi") })
        const code = yield* Deferred.await(client.closed)
        assert.strictEqual(code, 1006) // abnormal closure: no close frame
        const received: Array<Frame> = []
        while ((yield* client.backlog) > 0) received.push(yield* client.next)
        assert.lengthOf(received.filter((f) => f.message?.type === "fragment"), 1)
        assert.notInclude(received.map((f) => f.message?.type), "success")
        while ((yield* sim.activePredictions) > 0) yield* realSleep(5) // the server side ends too
      }))

    it.scopedLive("unknownPredictionPacketAfter(n): one packet of an unknown type, then the prediction carries on", () =>
      Effect.gen(function*() {
        const { client, sim } = yield* setup()
        yield* sim.faults.unknownPredictionPacketAfter(1)
        const types = packets(yield* channel(client, 0, "predict", predictParameter("Say hi"))).map((p) => p.type)
        assert.deepStrictEqual(types.slice(0, 4), ["promptProcessingProgress", "promptProcessingProgress", "fragment", "simulatorUnknownPacket"])
        assert.strictEqual(types.at(-1), "success")
      }))
  })
})
