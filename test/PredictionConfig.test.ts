import { assert, describe, it } from "@effect/vitest"
import { LMStudioClient as Official150 } from "@lmstudio/sdk"
import { LMStudioClient as Official200 } from "@lmstudio/sdk-2"
import * as Effect from "effect/Effect"
import type { KVConfigField } from "../src/internal/protocol/kvConfig.js"
import { predictionConfigFromKV, predictionConfigToKVFields } from "../src/internal/protocol/predictionConfigKV.js"
import { PredictionConfig, validatePredictionConfig } from "../src/PredictionConfig.js"
import { acceptAll, listen } from "./support/scriptedServer.js"

const P = "llm.prediction."

/** Every field @lmstudio/sdk 1.5.0 sends (it drops the newer ones), `raw` included. */
const config150: PredictionConfig = {
  temperature: 0.4,
  contextOverflowPolicy: "stopAtLimit",
  maxTokens: 200,
  stopStrings: ["\n\n", "END"],
  toolCallStopStrings: ["</tool>"],
  structured: { type: "json", jsonSchema: { type: "object", properties: { a: { type: "string" } } } },
  rawTools: {
    type: "toolArray",
    tools: [{
      type: "function",
      function: {
        name: "add",
        description: "Adds",
        parameters: { type: "object", properties: { a: { type: "number" } }, required: ["a"] }
      }
    }]
  },
  toolNaming: "snakeCase",
  topKSampling: 40,
  repeatPenalty: 1.2,
  minPSampling: false,
  topPSampling: 0.9,
  cpuThreads: 6,
  promptTemplate: { type: "jinja", jinjaPromptTemplate: { template: "{{ messages }}" }, stopStrings: ["<eot>"] },
  draftModel: "qwen/qwen3-0.6b",
  speculativeDecodingNumDraftTokensExact: 3,
  speculativeDecodingMinDraftLengthToConsider: 1,
  speculativeDecodingMinContinueDraftingProbability: 0.5,
  reasoningParsing: { enabled: true, startString: "<think>", endString: "</think>" },
  // `topKSampling` is typed too: the typed value wins, at raw's position; `seed` passes through.
  raw: {
    fields: [
      { key: `${P}topKSampling`, value: 3 },
      { key: `${P}seed`, value: { checked: true, value: 7 } }
    ]
  }
}

/** Every field, for the current official client (2.0.0). */
const configFull: PredictionConfig = {
  ...config150,
  maxTokens: false,
  reasoningBudget: 512,
  toolChoice: { type: "generic", mode: "required" },
  presencePenalty: 0.3,
  repeatPenalty: false,
  topPSampling: false,
  minPSampling: 0.1,
  logProbs: 5,
  enableThinking: false,
  userMaxImageDimensionPixels: 768,
  ignoreModelPreferredMaxImageDimension: true
}

/** `configFull`'s fields, written out: raw keys first, then the typed fields in table order. */
const configFullFields: ReadonlyArray<KVConfigField> = [
  { key: `${P}topKSampling`, value: 40 },
  { key: `${P}seed`, value: { checked: true, value: 7 } },
  { key: `${P}temperature`, value: 0.4 },
  { key: `${P}contextOverflowPolicy`, value: "stopAtLimit" },
  { key: `${P}maxPredictedTokens`, value: { checked: false, value: 1 } },
  { key: `${P}reasoning.budgetTokens`, value: { checked: true, value: 512 } },
  { key: `${P}stopStrings`, value: ["\n\n", "END"] },
  { key: `${P}toolCallStopStrings`, value: ["</tool>"] },
  { key: `${P}structured`, value: config150.structured },
  { key: `${P}tools`, value: config150.rawTools },
  { key: `${P}toolChoice`, value: { type: "generic", mode: "required" } },
  { key: `${P}toolNaming`, value: "snakeCase" },
  { key: `${P}repeatPenalty`, value: { checked: false, value: 1.1 } },
  { key: `${P}llama.presencePenalty`, value: { checked: true, value: 0.3 } },
  { key: `${P}minPSampling`, value: { checked: true, value: 0.1 } },
  { key: `${P}topPSampling`, value: { checked: false, value: 0.95 } },
  { key: `${P}logProbs`, value: { checked: true, value: 5 } },
  { key: `${P}llama.cpuThreads`, value: 6 },
  { key: `${P}reasoning.enableThinking`, value: false },
  { key: `${P}promptTemplate`, value: config150.promptTemplate },
  { key: `${P}speculativeDecoding.draftModel`, value: "qwen/qwen3-0.6b" },
  { key: `${P}speculativeDecoding.numDraftTokensExact`, value: 3 },
  { key: `${P}speculativeDecoding.minDraftLengthToConsider`, value: 1 },
  { key: `${P}speculativeDecoding.minContinueDraftingProbability`, value: 0.5 },
  { key: `${P}reasoning.parsing`, value: config150.reasoningParsing },
  { key: `${P}vision.userMaxImageDimensionPixels`, value: { checked: true, value: 768 } },
  { key: `${P}vision.ignoreModelPreferredMaxImageDimension`, value: true }
]

const silent = { info() {}, warn() {}, error() {}, debug() {} }

interface OfficialClient {
  llm: { createDynamicHandle(identifier: string): { respond(chat: string, opts: unknown): PromiseLike<unknown> } }
  [Symbol.asyncDispose](): Promise<void>
}
type OfficialConstructor = new(options: { baseUrl: string; logger: typeof silent }) => OfficialClient

/**
 * The `predict` frame an official client sends for `respond("hi", config)` (if any), captured by
 * a loopback server that answers the channel with an error.
 */
const officialPredictFrame = (Client: OfficialConstructor, config: PredictionConfig) =>
  Effect.gen(function*() {
    const server = yield* listen(acceptAll((peer, frame) => {
      const f = frame as { type?: string; channelId?: number }
      if (f.type === "channelCreate") {
        peer.send({ type: "channelError", channelId: f.channelId, error: { title: "captured" } })
      }
    }))
    yield* Effect.promise(async () => {
      const client = new Client({ baseUrl: server.url, logger: silent })
      try {
        await client.llm.createDynamicHandle("m").respond("hi", config)
      } catch {
        // the scripted error
      } finally {
        await client[Symbol.asyncDispose]()
      }
    })
    return server.received.map((r) => r.frame as { endpoint?: string }).find((f) => f.endpoint === "predict") as
      | { creationParameter: { predictionConfigStack: { layers: Array<{ config: { fields: Array<KVConfigField> } }> } } }
      | undefined
  })

/** The prediction-config fields of that frame (one `apiOverride` layer). */
const officialFields = (Client: OfficialConstructor, config: PredictionConfig) =>
  Effect.map(officialPredictFrame(Client, config), (create) => {
    assert.isDefined(create, "the official client opened a predict channel")
    const layers = create!.creationParameter.predictionConfigStack.layers
    assert.strictEqual(layers.length, 1)
    return layers[0]!.config.fields
  })

describe("PredictionConfig", () => {
  describe("predictionConfigToKVFields", () => {
    it("sends nothing for an empty config", () => {
      assert.deepStrictEqual(predictionConfigToKVFields({}), [])
    })

    it("maps every field to its llm.prediction key, raw first, typed fields in the official order", () => {
      assert.deepStrictEqual(predictionConfigToKVFields(configFull), configFullFields)
    })

    it("has a KV field for every field of the Schema", () => {
      for (const name of Object.keys(PredictionConfig.fields)) {
        const value = configFull[name as keyof PredictionConfig]
        assert.isDefined(value, `configFull sets ${name}`)
        assert.isNotEmpty(predictionConfigToKVFields({ [name]: value }), `${name} is sent`)
      }
    })

    it.scopedLive("sends the same fields, in the same order, as @lmstudio/sdk 1.5.0", () =>
      Effect.gen(function*() {
        const ours = predictionConfigToKVFields(yield* validatePredictionConfig(config150))
        const theirs = yield* officialFields(Official150 as unknown as OfficialConstructor, config150)
        assert.deepStrictEqual(ours, theirs)
        assert.strictEqual(ours.length, 20)
      }))

    it.scopedLive("sends the same fields, in the same order, as @lmstudio/sdk 2.0.0 (every field)", () =>
      Effect.gen(function*() {
        const ours = predictionConfigToKVFields(yield* validatePredictionConfig(configFull))
        const theirs = yield* officialFields(Official200 as unknown as OfficialConstructor, configFull)
        assert.deepStrictEqual(ours, theirs)
      }))

    it.scopedLive("the official clients refuse maxTokens -1 before sending anything (so ours sends it unchecked)", () =>
      Effect.gen(function*() {
        for (const Client of [Official150, Official200]) {
          const frame = yield* officialPredictFrame(Client as unknown as OfficialConstructor, { maxTokens: -1 })
          assert.isUndefined(frame)
        }
        assert.deepStrictEqual(predictionConfigToKVFields({ maxTokens: -1 }), predictionConfigToKVFields({ maxTokens: false }))
      }))

    const checkboxes: ReadonlyArray<readonly [string, PredictionConfig, KVConfigField]> = [
      ["maxTokens 10", { maxTokens: 10 }, { key: `${P}maxPredictedTokens`, value: { checked: true, value: 10 } }],
      ["maxTokens false", { maxTokens: false }, { key: `${P}maxPredictedTokens`, value: { checked: false, value: 1 } }],
      // The official clients refuse -1 client-side (the KV schema's minimum is 1); "no limit" is
      // the unchecked box.
      ["maxTokens -1", { maxTokens: -1 }, { key: `${P}maxPredictedTokens`, value: { checked: false, value: 1 } }],
      ["reasoningBudget false", { reasoningBudget: false }, {
        key: `${P}reasoning.budgetTokens`,
        value: { checked: false, value: 1024 }
      }],
      ["repeatPenalty false", { repeatPenalty: false }, { key: `${P}repeatPenalty`, value: { checked: false, value: 1.1 } }],
      ["presencePenalty false", { presencePenalty: false }, {
        key: `${P}llama.presencePenalty`,
        value: { checked: false, value: 0 }
      }],
      ["minPSampling false", { minPSampling: false }, { key: `${P}minPSampling`, value: { checked: false, value: 0.05 } }],
      ["topPSampling 0.5", { topPSampling: 0.5 }, { key: `${P}topPSampling`, value: { checked: true, value: 0.5 } }],
      ["logProbs false", { logProbs: false }, { key: `${P}logProbs`, value: { checked: false, value: 0 } }],
      ["userMaxImageDimensionPixels false", { userMaxImageDimensionPixels: false }, {
        key: `${P}vision.userMaxImageDimensionPixels`,
        value: { checked: false, value: 1024 }
      }]
    ]
    for (const [name, config, field] of checkboxes) {
      it(`${name} → ${JSON.stringify(field.value)}`, () => {
        assert.deepStrictEqual(predictionConfigToKVFields(config), [field])
      })
    }

    it("merges raw under the typed fields: a typed field wins in raw's position, duplicates collapse", () => {
      const fields = predictionConfigToKVFields({
        temperature: 0,
        raw: {
          fields: [
            { key: `${P}systemPrompt`, value: "a" },
            { key: `${P}temperature`, value: 1 },
            { key: `${P}systemPrompt`, value: "b" }
          ]
        }
      })
      assert.deepStrictEqual(fields, [
        { key: `${P}systemPrompt`, value: "b" },
        { key: `${P}temperature`, value: 0 }
      ])
    })

    it("does not copy extra keys of nested objects onto the wire", () => {
      const reasoningParsing = { enabled: false, startString: "<r>", endString: "</r>", extra: 1 }
      assert.deepStrictEqual(predictionConfigToKVFields({ reasoningParsing }), [
        { key: `${P}reasoning.parsing`, value: { enabled: false, startString: "<r>", endString: "</r>" } }
      ])
    })
  })

  describe("predictionConfigFromKV", () => {
    it.effect("round-trips every field; keys without a field come back in raw", () =>
      Effect.gen(function*() {
        const { raw: _, ...typed } = configFull
        assert.deepStrictEqual(predictionConfigFromKV({ fields: predictionConfigToKVFields(typed) }), typed)
        const decoded = predictionConfigFromKV({ fields: configFullFields })
        assert.deepStrictEqual(decoded, {
          ...typed,
          topKSampling: 40,
          raw: { fields: [{ key: `${P}seed`, value: { checked: true, value: 7 } }] }
        })
        assert.deepStrictEqual(yield* validatePredictionConfig(decoded), decoded)
      }))

    it("reads unchecked checkboxes as false and skips values that do not fit", () => {
      assert.deepStrictEqual(
        predictionConfigFromKV({
          fields: [
            { key: `${P}maxPredictedTokens`, value: { checked: false, value: 1000 } },
            { key: `${P}topPSampling`, value: { checked: true, value: 3 } },
            { key: `${P}minPSampling`, value: { checked: true, value: false } },
            { key: `${P}temperature`, value: -1 },
            { key: `${P}contextOverflowPolicy`, value: "explode" },
            { key: `${P}stopStrings`, value: [1] },
            { key: `${P}topKSampling` },
            { key: `${P}repeatPenalty`, value: { checked: true, value: 1.05 } }
          ]
        }),
        { maxTokens: false, repeatPenalty: 1.05 }
      )
    })

    it("lets a later field with the same key win", () => {
      assert.deepStrictEqual(
        predictionConfigFromKV({ fields: [{ key: `${P}temperature`, value: 1 }, { key: `${P}temperature`, value: 0.2 }] }),
        { temperature: 0.2 }
      )
    })
  })

  describe("validatePredictionConfig", () => {
    it.effect("accepts every field, and treats undefined values as absent", () =>
      Effect.gen(function*() {
        assert.deepStrictEqual(yield* validatePredictionConfig(configFull), configFull)
        assert.deepStrictEqual(yield* validatePredictionConfig({}), {})
        assert.deepStrictEqual(yield* validatePredictionConfig({ temperature: undefined, maxTokens: -1 }), { maxTokens: -1 })
        assert.deepStrictEqual(
          yield* validatePredictionConfig({ structured: { type: "json" }, rawTools: { type: "none" } }),
          { structured: { type: "json" }, rawTools: { type: "none" } }
        )
      }))

    const invalid: ReadonlyArray<readonly [string, unknown, string, string?]> = [
      ["not an object", null, "config", "must be an object, got null"],
      ["temperature negative", { temperature: -0.5 }, "config.temperature", "must be a number >= 0, got -0.5"],
      ["temperature NaN", { temperature: NaN }, "config.temperature", "must be a number >= 0, got NaN"],
      ["temperature a string", { temperature: "0.5" }, "config.temperature", `must be a number >= 0, got "0.5"`],
      ["maxTokens 0", { maxTokens: 0 }, "config.maxTokens", "must be an integer >= 1, or -1 or false for no limit, got 0"],
      ["maxTokens 1.5", { maxTokens: 1.5 }, "config.maxTokens"],
      ["maxTokens true", { maxTokens: true }, "config.maxTokens"],
      ["stopStrings a string", { stopStrings: "\n" }, "config.stopStrings", `must be an array of strings, got "\\n"`],
      ["stopStrings element", { stopStrings: ["a", 1] }, "config.stopStrings[1]", "must be a string, got 1"],
      ["contextOverflowPolicy", { contextOverflowPolicy: "stop" }, "config.contextOverflowPolicy", `must be "stopAtLimit", "truncateMiddle" or "rollingWindow", got "stop"`],
      ["topKSampling 501", { topKSampling: 501 }, "config.topKSampling", "must be an integer between -1 and 500, got 501"],
      ["topPSampling 1.5", { topPSampling: 1.5 }, "config.topPSampling", "must be a number between 0 and 1, or false, got 1.5"],
      ["minPSampling true", { minPSampling: true }, "config.minPSampling"],
      ["repeatPenalty Infinity", { repeatPenalty: Infinity }, "config.repeatPenalty", "must be a finite number or false, got Infinity"],
      ["cpuThreads 0", { cpuThreads: 0 }, "config.cpuThreads", "must be an integer >= 1, got 0"],
      ["draftModel a number", { draftModel: 1 }, "config.draftModel", "must be a string, got 1"],
      ["numDraftTokensExact 0", { speculativeDecodingNumDraftTokensExact: 0 }, "config.speculativeDecodingNumDraftTokensExact"],
      ["minDraftLengthToConsider -1", { speculativeDecodingMinDraftLengthToConsider: -1 }, "config.speculativeDecodingMinDraftLengthToConsider"],
      ["minContinueDraftingProbability 2", { speculativeDecodingMinContinueDraftingProbability: 2 }, "config.speculativeDecodingMinContinueDraftingProbability", "must be a number between 0 and 1, got 2"],
      ["reasoningParsing missing endString", { reasoningParsing: { enabled: true, startString: "<t>" } }, "config.reasoningParsing.endString", "is required"],
      ["reasoningParsing a boolean", { reasoningParsing: true }, "config.reasoningParsing", "must be an object { enabled, startString, endString }, got true"],
      ["structured bad type", { structured: { type: "xml" } }, "config.structured.type", `must be "none", "json" or "gbnf", got "xml"`],
      ["structured unknown key", { structured: { type: "json", schema: {} } }, "config.structured.schema", "is not a known field"],
      ["rawTools bad type", { rawTools: { type: "tools" } }, "config.rawTools.type", `must be "none" or "toolArray", got "tools"`],
      ["rawTools a string", { rawTools: "none" }, "config.rawTools", `must be { type: "none" } or { type: "toolArray", tools }, got "none"`],
      ["logProbs 101", { logProbs: 101 }, "config.logProbs", "must be an integer between 0 and 100, or false, got 101"],
      ["rawTools tool without a name", { rawTools: { type: "toolArray", tools: [{ type: "function", function: {} }] } }, "config.rawTools.tools[0].function.name", "is required"],
      ["toolChoice bad mode", { toolChoice: { type: "generic", mode: "always" } }, "config.toolChoice.mode"],
      ["promptTemplate jinja without template", { promptTemplate: { type: "jinja", stopStrings: [] } }, "config.promptTemplate.jinjaPromptTemplate", `is required when type is "jinja"`],
      ["promptTemplate missing stopStrings", { promptTemplate: { type: "jinja", jinjaPromptTemplate: { template: "" } } }, "config.promptTemplate.stopStrings", "is required"],
      ["raw not KV", { raw: { temperature: 1 } }, "config.raw.temperature", "is not a known field"],
      ["raw empty key", { raw: { fields: [{ key: "" }] } }, "config.raw.fields[0].key", `must be a non-empty string, got ""`],
      ["unknown key", { foo: 1 }, "config.foo", "is not a known prediction-config field"],
      ["a name from another API", { max_tokens: 5 }, "config.max_tokens", "is not a known prediction-config field (did you mean maxTokens?)"],
      ["the official KV name", { maxPredictedTokens: 5 }, "config.maxPredictedTokens", "is not a known prediction-config field (did you mean maxTokens?)"],
      ["xtc (dropped by the official clients)", { xtcProbability: 0.2 }, "config.xtcProbability", "is not a known prediction-config field"]
    ]
    for (const [name, input, field, reason] of invalid) {
      it.effect(`rejects ${name} at ${field}`, () =>
        Effect.gen(function*() {
          const error = yield* Effect.flip(validatePredictionConfig(input))
          assert.strictEqual(error._tag, "InvalidArgumentError")
          assert.strictEqual(error.field, field)
          if (reason !== undefined) assert.strictEqual(error.reason, reason)
          assert.isTrue(error.reason.length > 0)
        }))
    }
  })
})
