/**
 * Proof of fidelity for predictions: the OFFICIAL `@lmstudio/sdk` 1.5.0 and 2.0.0 clients,
 * unchanged, predict against the simulator. Every test also checks that the official client never
 * complained about a frame it received (it answers a frame failing its schemas with a
 * `communicationWarning`).
 */
import { assert, describe, it } from "@effect/vitest"
import { LMStudioClient as Client1, type LLMTool, tool as tool1 } from "@lmstudio/sdk"
import { LMStudioClient as Client2, tool as tool2 } from "@lmstudio/sdk-2"
import * as Effect from "effect/Effect"
import { LMStudioSimulator } from "lmstudio-effect/testing"
import { z } from "zod"

type Simulator = LMStudioSimulator.LMStudioSimulator.Service
type Options = LMStudioSimulator.SimulatorOptions

const silent = { info() {}, warn() {}, error() {}, debug() {} }

const ANSI = new RegExp(String.raw`\u001b\[[0-9;]*m`, "g")
/** The error message without colours and box drawing, whitespace collapsed (the client pretty-prints). */
const plain = (error: unknown): string =>
  (error instanceof Error ? error.message : String(error)).replace(ANSI, "").replace(/[│┌┐└┘─]/g, " ")
    .replace(/\s+/g, " ")

const run = <A>(f: () => Promise<A>) => Effect.promise(f)
/** The error a promise rejects with (fails the test if it resolves). */
const rejection = (f: () => Promise<unknown>) =>
  Effect.tryPromise({ try: f, catch: (e) => e }).pipe(
    Effect.flatMap((value) => Effect.dieMessage(`expected a rejection, got ${JSON.stringify(value)}`)),
    Effect.catchAll((e) => Effect.succeed(plain(e)))
  )

/** Frames the official client sent back as complaints: there must be none. */
const assertClientHappy = (sim: Simulator) =>
  Effect.gen(function*() {
    const complaints = (yield* sim.traffic).filter((t) =>
      t.direction === "in" && (t.frame as { type?: unknown } | null)?.type === "communicationWarning"
    )
    assert.deepStrictEqual(complaints, [])
  })

const LLAMA = "llama-3.2-1b-instruct"
const R1 = "deepseek-r1-distill-qwen-1.5b"
const VISION = "qwen2-vl-2b-instruct"
/** A 1×1 PNG. */
const DOT_PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="

/**
 * Both clients, typed by the 1.5.0 declarations: the surface these tests use is the same in
 * 2.0.0 (whose extra result field `stats.stopString` is read through a cast).
 */
const clients: ReadonlyArray<{
  readonly version: "1.5.0" | "2.0.0"
  readonly make: (baseUrl: string) => Client1
  readonly tool: typeof tool1
}> = [
  { version: "1.5.0", make: (baseUrl) => new Client1({ baseUrl, logger: silent }), tool: tool1 },
  {
    version: "2.0.0",
    make: (baseUrl) => new Client2({ baseUrl, logger: silent }) as unknown as Client1,
    tool: tool2 as unknown as typeof tool1
  }
]

const WEATHER_TOOL: LLMTool = {
  type: "function",
  function: {
    name: "get_weather",
    description: "Get the weather in a city",
    parameters: {
      type: "object",
      properties: { city: { type: "string" }, days: { type: "integer", minimum: 1, maximum: 7 } },
      required: ["city"],
      additionalProperties: false
    }
  }
}

for (const { make, tool, version } of clients) {
  /** A simulator with `keys` loaded, plus an official client, both closed with the test's scope. */
  const setup = (options: Options = {}, keys: ReadonlyArray<string> = [LLAMA]) =>
    Effect.gen(function*() {
      const sim = yield* LMStudioSimulator.make({ loadMs: 0, tokenMs: 1, ...options })
      for (const key of keys) yield* sim.preload(key)
      const client = yield* Effect.acquireRelease(
        Effect.sync(() => make(sim.url)),
        (client) => Effect.promise(() => client[Symbol.asyncDispose]())
      )
      const model = yield* run(() => client.llm.model(keys[0] ?? LLAMA))
      return { sim, client, model }
    })

  describe(`official @lmstudio/sdk ${version}: predictions against the simulator`, () => {
    it.scopedLive("respond streams one token per fragment and resolves with the same text", () =>
      Effect.gen(function*() {
        const { model, sim } = yield* setup()
        const prediction = model.respond("Say hi")
        const fragments: Array<string> = []
        yield* run(async () => {
          for await (const fragment of prediction) {
            fragments.push(fragment.content)
            assert.strictEqual(fragment.tokensCount, 1)
            assert.strictEqual(fragment.reasoningType, "none")
          }
        })
        const result = yield* run(() => prediction.result())
        assert.isAtLeast(fragments.length, 8)
        assert.strictEqual(result.content, fragments.join(""))
        assert.include(result.content, "Say hi")
        assert.strictEqual(result.stats.stopReason, "eosFound")
        assert.strictEqual(result.stats.predictedTokensCount, fragments.length + 1) // EOS counted
        assert.strictEqual(
          result.stats.totalTokensCount,
          (result.stats.promptTokensCount ?? NaN) + (result.stats.predictedTokensCount ?? NaN)
        )
        assert.strictEqual(result.modelInfo.identifier, LLAMA)
        assert.strictEqual(result.modelInfo.contextLength, 4096)
        assert.deepInclude(result.loadConfig.fields, { key: "llm.load.contextLength", value: 4096 })
        // The same chat gives the same answer.
        const again = yield* run(() => model.respond("Say hi"))
        assert.strictEqual(again.content, result.content)
        yield* assertClientHappy(sim)
      }))

    it.scopedLive("multi-message chats are answered from the whole history", () =>
      Effect.gen(function*() {
        const { model, sim } = yield* setup()
        const chat = [
          { role: "system", content: "You are terse." },
          { role: "user", content: "Hello there" },
          { role: "assistant", content: "Hi." },
          { role: "user", content: "What is 2 + 2?" }
        ] as const
        const long = yield* run(() => model.respond([...chat]))
        const short = yield* run(() => model.respond("What is 2 + 2?"))
        assert.include(long.content, "What is 2 + 2?")
        assert.notInclude(long.content, "Hello there")
        assert.isAbove(long.stats.promptTokensCount ?? 0, short.stats.promptTokensCount ?? Infinity)
        yield* assertClientHappy(sim)
      }))

    it.scopedLive("maxTokens cuts the reply after exactly that many tokens", () =>
      Effect.gen(function*() {
        const { model, sim } = yield* setup()
        const full = yield* run(() => model.respond("Tell me a story"))
        const cut = yield* run(() => model.respond("Tell me a story", { maxTokens: 3 }))
        assert.strictEqual(cut.stats.stopReason, "maxPredictedTokensReached")
        assert.strictEqual(cut.stats.predictedTokensCount, 3)
        assert.isTrue(full.content.startsWith(cut.content))
        assert.isBelow(cut.content.length, full.content.length)
        yield* assertClientHappy(sim)
      }))

    it.scopedLive("a stop string ends the reply before it, and is never sent", () =>
      Effect.gen(function*() {
        const { model, sim } = yield* setup()
        const full = yield* run(() => model.respond("Tell me a story"))
        assert.include(full.content, "\n\n")
        const stopped = yield* run(() => model.respond("Tell me a story", { stopStrings: ["\n\n"] }))
        assert.strictEqual(stopped.content, full.content.slice(0, full.content.indexOf("\n\n")))
        assert.strictEqual(stopped.stats.stopReason, "stopStringFound")
        // 1.5.0's schema strips the field; 2.0.0 reports which stop string matched.
        const stopString = (stopped.stats as { stopString?: string }).stopString
        assert.strictEqual(stopString, version === "1.5.0" ? undefined : "\n\n")
        yield* assertClientHappy(sim)
      }))

    it.scopedLive("complete continues a raw prompt (predict + pass-through template in 1.5.0, completeRawText in 2.0.0)", () =>
      Effect.gen(function*() {
        const { model, sim } = yield* setup()
        const prediction = model.complete("The quick brown fox")
        const fragments: Array<string> = []
        yield* run(async () => {
          for await (const fragment of prediction) fragments.push(fragment.content)
        })
        const result = yield* run(() => prediction.result())
        assert.strictEqual(result.content, fragments.join(""))
        assert.isAtLeast(fragments.length, 8)
        assert.notInclude(result.content, "You wrote")
        // The prompt is counted raw: no chat template around it.
        assert.strictEqual(result.stats.promptTokensCount, 4)
        const endpoints = (yield* sim.traffic).flatMap((t) =>
          t.direction === "in" && (t.frame as { type?: string }).type === "channelCreate"
            ? [(t.frame as { endpoint: string }).endpoint]
            : []
        )
        assert.include(endpoints, version === "1.5.0" ? "predict" : "completeRawText")
        yield* assertClientHappy(sim)
      }))

    it.scopedLive("structured output with zod: result.parsed satisfies the schema", () =>
      Effect.gen(function*() {
        const { model, sim } = yield* setup()
        const Person = z.object({
          name: z.string().min(2).max(40),
          age: z.number().int().min(0).max(120),
          score: z.number().gt(0).lt(1),
          tags: z.array(z.string()).min(1).max(3),
          kind: z.enum(["friend", "colleague"]),
          nickname: z.string().nullable(),
          email: z.string().email().optional(),
          address: z.object({ city: z.string(), zip: z.string().length(5) }),
          active: z.boolean()
        })
        const prediction = model.respond("Describe a person called Ada", { structured: Person, maxTokens: 500 })
        let fragments = 0
        yield* run(async () => {
          for await (const fragment of prediction) {
            fragments++
            assert.strictEqual(fragment.tokensCount, 1)
          }
        })
        const result = yield* run(() => prediction.result())
        assert.isAbove(fragments, 10)
        assert.deepStrictEqual(Person.parse(result.parsed), result.parsed)
        assert.deepStrictEqual(JSON.parse(result.content), result.parsed)
        yield* assertClientHappy(sim)
      }))

    it.scopedLive("cancel before the first fragment and mid-stream both resolve with userStopped", () =>
      Effect.gen(function*() {
        const { model, sim } = yield* setup({ tokenMs: 50 })
        const full = yield* run(() => model.respond("Say hi"))
        const early = model.respond("Say hi")
        yield* run(() => early.cancel())
        const earlyResult = yield* run(() => early.result())
        assert.strictEqual(earlyResult.stats.stopReason, "userStopped")
        assert.strictEqual(earlyResult.content, "")
        assert.strictEqual(earlyResult.stats.predictedTokensCount, 0)

        const late = model.respond("Say hi")
        yield* run(async () => {
          for await (const _ of late) {
            await late.cancel()
            break
          }
        })
        const lateResult = yield* run(() => late.result())
        assert.strictEqual(lateResult.stats.stopReason, "userStopped")
        assert.isAtLeast(lateResult.stats.predictedTokensCount ?? 0, 1)
        assert.isBelow(lateResult.stats.predictedTokensCount ?? Infinity, full.stats.predictedTokensCount ?? 0)
        yield* assertClientHappy(sim)
      }))

    it.scopedLive("prompt-processing progress callbacks see 0 then 1", () =>
      Effect.gen(function*() {
        const { model, sim } = yield* setup()
        const progress: Array<number> = []
        yield* run(() => model.respond("Say hi", { onPromptProcessingProgress: (p) => progress.push(p) }))
        assert.deepStrictEqual(progress, [0, 1])
        yield* assertClientHappy(sim)
      }))

    it.scopedLive("concurrent predictions on one socket each get their own deterministic answer", () =>
      Effect.gen(function*() {
        const { model, sim } = yield* setup()
        const prompts = ["one", "two", "three", "four", "five", "six"]
        const together = yield* run(() => Promise.all(prompts.map((p) => model.respond(`Count ${p}`))))
        const alone = yield* run(async () => {
          const results = []
          for (const p of prompts) results.push(await model.respond(`Count ${p}`))
          return results
        })
        assert.deepStrictEqual(together.map((r) => r.content), alone.map((r) => r.content))
        together.forEach((result, i) => assert.include(result.content, `Count ${prompts[i]}`))
        yield* assertClientHappy(sim)
      }))

    it.scopedLive("a reasoning model's <think> section arrives as reasoning fragments", () =>
      Effect.gen(function*() {
        const { model, sim } = yield* setup({}, [R1])
        const prediction = model.respond("Why is the sky blue?")
        const types: Array<string> = []
        yield* run(async () => {
          for await (const fragment of prediction) types.push(fragment.reasoningType)
        })
        const result = yield* run(() => prediction.result())
        assert.strictEqual(types[0], "reasoningStartTag")
        assert.strictEqual(types.filter((t) => t === "reasoningEndTag").length, 1)
        assert.isTrue(result.content.startsWith("<think>"))
        assert.include(result.reasoningContent, "Why is the sky blue?")
        assert.notInclude(result.nonReasoningContent, "<think>")
        assert.notInclude(result.nonReasoningContent, "</think>")
        assert.include(result.nonReasoningContent, "You wrote")
        // Parsing off: the same text, all plain.
        const unparsed = yield* run(() =>
          model.respond("Why is the sky blue?", {
            reasoningParsing: { enabled: false, startString: "<think>", endString: "</think>" }
          })
        )
        assert.strictEqual(unparsed.content, result.content)
        assert.strictEqual(unparsed.reasoningContent, "")
        yield* assertClientHappy(sim)
      }))

    it.scopedLive("offered tools produce tool-call packets when the user names a tool (rawTools)", () =>
      Effect.gen(function*() {
        const { model, sim } = yield* setup()
        const ends: Array<{ name: string; arguments?: Record<string, unknown> }> = []
        const names: Array<string> = []
        const result = yield* run(() =>
          model.respond("Please use get_weather for Paris", {
            rawTools: { type: "toolArray", tools: [WEATHER_TOOL] },
            onToolCallRequestNameReceived: (_id, name) => names.push(name),
            onToolCallRequestEnd: (_id, info) => ends.push(info.toolCallRequest)
          })
        )
        assert.deepStrictEqual(names, ["get_weather"])
        assert.lengthOf(ends, 1)
        assert.strictEqual(ends[0]?.name, "get_weather")
        assert.isString(ends[0]?.arguments?.["city"])
        assert.include(result.content, "get_weather")
        // Not named: no call.
        const none: Array<unknown> = []
        yield* run(() =>
          model.respond("Hello", {
            rawTools: { type: "toolArray", tools: [WEATHER_TOOL] },
            onToolCallRequestEnd: (_id, info) => none.push(info)
          })
        )
        assert.deepStrictEqual(none, [])
        yield* assertClientHappy(sim)
      }))

    it.scopedLive("act runs a tool round, then answers from the tool's result", () =>
      Effect.gen(function*() {
        const { model, sim } = yield* setup()
        const calls: Array<string> = []
        const weather = tool({
          name: "get_weather",
          description: "Get the weather in a city",
          parameters: { city: z.string() },
          implementation: ({ city }) => {
            calls.push(city)
            return { city, tempC: 21 }
          }
        })
        const messages: Array<string> = []
        const result = yield* run(() =>
          model.act("What does get_weather say?", [weather], { onMessage: (m) => messages.push(m.getText()) })
        )
        assert.strictEqual(result.rounds, 2)
        assert.lengthOf(calls, 1)
        assert.include(messages[messages.length - 1] ?? "", "tempC")
        yield* assertClientHappy(sim)
      }))

    it.scopedLive("a prediction on an unloaded model rejects instead of hanging; an unload mid-stream ends it", () =>
      Effect.gen(function*() {
        const { model, sim } = yield* setup()
        yield* sim.faults.stallPredictionAfter(1) // so the unload surely lands mid-stream
        const running = model.respond("Say hi")
        yield* run(async () => {
          for await (const _ of running) break
        })
        yield* sim.unloadAll
        const ended = yield* run(() => running.result())
        assert.strictEqual(ended.stats.stopReason, "modelUnloaded")
        const message = yield* rejection(() => model.respond("Say hi"))
        assert.include(message, "No loaded model satisfies all requirements")
        yield* assertClientHappy(sim)
      }))

    it.scopedLive("an image: a vision model answers, a model without vision refuses (no hang)", () =>
      Effect.gen(function*() {
        const { client, model, sim } = yield* setup({}, [LLAMA, VISION])
        const image = yield* run(() => client.files.prepareImageBase64("dot.png", DOT_PNG))
        const chat = [{ role: "user" as const, content: "What is this?", images: [image] }]
        const message = yield* rejection(() => model.respond(chat))
        assert.include(message, "does not support images")
        const vision = yield* run(() => client.llm.model(VISION))
        const answer = yield* run(() => vision.respond(chat))
        assert.strictEqual(answer.stats.stopReason, "eosFound")
        assert.include(answer.content, "What is this?")
        yield* assertClientHappy(sim)
      }))

    it.scopedLive("speculative decoding: draft statistics reach the result", () =>
      Effect.gen(function*() {
        const { model, sim } = yield* setup({}, [LLAMA])
        const result = yield* run(() => model.respond("Say hi", { draftModel: "qwen2.5-7b-instruct" }))
        assert.strictEqual(result.stats.usedDraftModelKey, "qwen2.5-7b-instruct")
        assert.isAbove(result.stats.acceptedDraftTokensCount ?? 0, 0)
        yield* assertClientHappy(sim)
      }))

    it.scopedLive("presets: a known preset applies under the request; an unknown one is refused", () =>
      Effect.gen(function*() {
        const { model, sim } = yield* setup({
          presets: [{
            identifier: "@local:short",
            name: "Short",
            fields: [{ key: "llm.prediction.maxPredictedTokens", value: { checked: true, value: 2 } }]
          }]
        })
        const short = yield* run(() => model.respond("Say hi", { preset: "@local:short" }))
        assert.strictEqual(short.stats.predictedTokensCount, 2)
        const overridden = yield* run(() => model.respond("Say hi", { preset: "short", maxTokens: 4 }))
        assert.strictEqual(overridden.stats.predictedTokensCount, 4)
        const message = yield* rejection(() => model.respond("Say hi", { preset: "nope" }))
        assert.include(message, "Cannot find a preset")
        assert.include(message, "nope")
        yield* assertClientHappy(sim)
      }))
  })
}
