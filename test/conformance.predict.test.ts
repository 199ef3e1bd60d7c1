/**
 * Predictions: lmstudio-effect sends the same `/llm` frames as the official `@lmstudio/sdk@1.5.0`
 * for the same respond / complete / applyPromptTemplate calls and configs (including structured
 * output, presets and cancellation). Each client talks to its own scripted server.
 */
import { assert, describe, it } from "@effect/vitest"
import { LMStudioClient as OfficialClient } from "@lmstudio/sdk"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Schema from "effect/Schema"
import { z } from "zod"
import { Chat, LMStudioClient } from "../src/index.js"
import * as PredictServer from "./support/predictServer.js"

const silent = { info() {}, warn() {}, error() {}, debug() {} }

const sampling = {
  temperature: 0.2,
  contextOverflowPolicy: "stopAtLimit",
  maxTokens: 64,
  stopStrings: ["\n\n", "END"],
  toolCallStopStrings: ["</tool>"],
  topKSampling: 40,
  repeatPenalty: false,
  minPSampling: 0.1,
  topPSampling: 0.9,
  cpuThreads: 4,
  reasoningParsing: { enabled: true, startString: "<think>", endString: "</think>" }
} as const

const jsonSchema = { type: "array", items: { type: "number" } }

/** The frames a client sent on `/llm`, without warnings. */
const frames = (server: PredictServer.PredictServer) => server.llmFrames.filter((f) => f.type !== "communicationWarning")

const waitFor = (condition: () => boolean) =>
  Effect.promise(async () => {
    for (let i = 0; i < 400 && !condition(); i++) await new Promise((r) => setTimeout(r, 5))
  })

describe("predictions: the same frames as the official client", () => {
  it.scopedLive("respond, complete, configs, presets, structured output, applyPromptTemplate, cancel", () =>
    Effect.gen(function*() {
      const answer: PredictServer.Behaviour = { _tag: "Answer", fragments: ["[1,", "2]"] }
      const ours = yield* PredictServer.make(answer, 1)
      const theirs = yield* PredictServer.make(answer, 1)

      const client = yield* LMStudioClient.make({ baseUrl: ours.url })
      const model = yield* client.llm.model()
      yield* model.respond("Say hi")
      yield* model.respond(
        [{ role: "system", content: "You are terse." }, { role: "user", content: "Say hi" }],
        { config: { temperature: 0, maxTokens: 10, stopStrings: ["\n\n"] } }
      )
      yield* model.respond(Chat.make(Chat.user("a"), Chat.assistant("b"), Chat.user("c")), { config: sampling, preset: "my-preset" })
      yield* model.respond("Numbers?", { structured: Schema.Struct({ numbers: Schema.Array(Schema.Number) }), config: { maxTokens: 50 } })
        .pipe(Effect.ignore)
      yield* model.respond("Numbers?", { structured: jsonSchema, config: { temperature: 0 } })
      yield* model.complete("1 + 1 = ")
      yield* model.complete("1 + 1 = ", { config: { maxTokens: 3, stopStrings: [";"] } })
      yield* model.applyPromptTemplate([{ role: "user", content: "Hi" }])
      ours.tokenMs = 50
      const fiber = yield* Effect.fork(model.respond("cancel me"))
      yield* waitFor(() => ours.predictions.length === 8)
      yield* Fiber.interrupt(fiber)

      yield* Effect.promise(async () => {
        const official = new OfficialClient({ baseUrl: theirs.url, logger: silent })
        try {
          const handle = await official.llm.model()
          await handle.respond("Say hi")
          await handle.respond(
            [{ role: "system", content: "You are terse." }, { role: "user", content: "Say hi" }],
            { temperature: 0, maxTokens: 10, stopStrings: ["\n\n"] }
          )
          await handle.respond(
            [{ role: "user", content: "a" }, { role: "assistant", content: "b" }, { role: "user", content: "c" }],
            { ...sampling, reasoningParsing: { ...sampling.reasoningParsing }, stopStrings: [...sampling.stopStrings], toolCallStopStrings: [...sampling.toolCallStopStrings], preset: "my-preset" }
          )
          await handle.respond("Numbers?", { structured: z.object({ numbers: z.array(z.number()) }), maxTokens: 50 }).catch(() => undefined)
          await handle.respond("Numbers?", { structured: { type: "json", jsonSchema }, temperature: 0 })
          await handle.complete("1 + 1 = ")
          await handle.complete("1 + 1 = ", { maxTokens: 3, stopStrings: [";"] })
          await handle.applyPromptTemplate([{ role: "user", content: "Hi" }])
          theirs.tokenMs = 50
          const prediction = handle.respond("cancel me")
          prediction.cancel()
          await prediction
        } finally {
          await official[Symbol.asyncDispose]()
        }
      })

      const mine = frames(ours)
      const official = frames(theirs)
      assert.strictEqual(official.length, 11) // getModelInfo, 7 predictions, applyPromptTemplate, create + cancel
      assert.strictEqual(mine.length, official.length)
      for (let i = 0; i < official.length; i++) {
        assert.deepStrictEqual(mine[i], official[i], `frame ${i} (${official[i]?.type} ${official[i]?.endpoint ?? ""})`)
      }
      assert.deepStrictEqual(mine.slice(-2).map((f) => f.type), ["channelCreate", "channelSend"])
      assert.isFalse(ours.busy())
      assert.isFalse(theirs.busy())
    }))
})
