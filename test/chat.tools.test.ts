/**
 * Tool calls in chats: a tool loop with our own API over the simulator (the model calls a tool,
 * the app appends the call and its result, the model answers from it), the history frame of such
 * a chat against what the official clients' `act` sends in its second round, the validation of
 * tool fields before any frame, consecutive tool messages merged into one wire message, and the
 * equality of chats carrying tool calls.
 */
import { assert, describe, it } from "@effect/vitest"
import { LMStudioClient as Client1, tool as tool1 } from "@lmstudio/sdk"
import { LMStudioClient as Client2, tool as tool2 } from "@lmstudio/sdk-2"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Equal from "effect/Equal"
import * as Hash from "effect/Hash"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { z } from "zod"
import { Chat, LMStudioClient, Prediction } from "../src/index.js"
import type { ToolDefinition } from "../src/PredictionConfig.js"
import { LMStudioSimulator } from "../src/testing/index.js"
import * as PredictServer from "./support/predictServer.js"

const LLAMA = "llama-3.2-1b-instruct"
const silent = { info() {}, warn() {}, error() {}, debug() {} }

type Frame = Record<string, any>
type Simulator = LMStudioSimulator.LMStudioSimulator.Service

const tool = (name: string, properties: Record<string, unknown>, required: ReadonlyArray<string>): ToolDefinition => ({
  type: "function",
  function: {
    name,
    description: `The ${name.replace(/_/g, " ")} tool`,
    parameters: { type: "object", properties, required, additionalProperties: false }
  }
})
const WEATHER = tool("get_weather", { city: { type: "string" } }, ["city"])
const TIME = tool("get_time", { zone: { type: "string" } }, ["zone"])
const rawTools = (...tools: ReadonlyArray<ToolDefinition>) => ({ type: "toolArray" as const, tools })

const setup = Effect.gen(function*() {
  const sim = yield* LMStudioSimulator.make({ loadMs: 0, tokenMs: 0 })
  yield* sim.preload(LLAMA)
  const client = yield* LMStudioClient.make({ baseUrl: sim.url })
  const model = yield* client.llm.model(LLAMA)
  return { sim, client, model }
})

/** The frames clients sent on `/llm`. */
const inbound = (sim: Simulator) =>
  Effect.map(sim.traffic, (entries) =>
    entries.filter((e) => e.direction === "in" && e.namespace === "llm").map((e) => e.frame as Frame))

/** The creation parameters of the `predict` channels clients opened, in order. */
const predictions = (sim: Simulator) =>
  Effect.map(inbound(sim), (frames) =>
    frames.filter((f) => f.type === "channelCreate" && f.endpoint === "predict").map((f) => f.creationParameter))

const noWarnings = (sim: Simulator) =>
  Effect.map(inbound(sim), (frames) => assert.deepStrictEqual(frames.filter((f) => f.type === "communicationWarning"), []))

describe("a tool loop with Chat", () => {
  it.scopedLive("the model calls a tool; the call and its result go back; the model answers from the result", () =>
    Effect.gen(function*() {
      const { model, sim } = yield* setup
      const chat = Chat.make(Chat.user("Please use get_weather for Paris"))
      const events = Chunk.toReadonlyArray(yield* Stream.runCollect(model.respondStream(chat, { config: { rawTools: rawTools(WEATHER) } })))
      const ends = events.filter((e): e is Prediction.ToolCallEnd => e._tag === "ToolCallEnd")
      const result = events.find(Prediction.isResult)!.result
      assert.lengthOf(ends, 1)
      assert.deepStrictEqual(result.toolCalls, ends.map((e) => e.request))
      const [call] = result.toolCalls
      assert.strictEqual(call?.name, "get_weather")
      assert.isString(call?.id)
      assert.isString(call?.arguments?.["city"])
      // `respond` (no events consumed) records the same calls.
      const quiet = yield* model.respond(chat, { config: { rawTools: rawTools(WEATHER) } })
      assert.deepStrictEqual(quiet.toolCalls, result.toolCalls)

      const next = chat.pipe(
        Chat.appendResult(result),
        Chat.appendToolResult(JSON.stringify({ city: "Paris", tempC: 21 }), { toolCallId: call!.id, toolName: call!.name })
      )
      assert.deepStrictEqual(next.messages.map((m) => m.role), ["user", "assistant", "tool"])
      assert.deepStrictEqual(next.messages[1]?.toolCalls, result.toolCalls)
      const answer = yield* model.respond(next, { config: { rawTools: rawTools(WEATHER) } })
      assert.include(answer.content, `get_weather returned {"city":"Paris","tempC":21}`)
      assert.deepStrictEqual(answer.toolCalls, [])
      assert.strictEqual(answer.stats.stopReason, "eosFound")

      const sent = (yield* predictions(sim))[2]
      assert.deepStrictEqual(sent?.history.messages.slice(1), [
        {
          role: "assistant",
          content: [
            { type: "text", text: result.nonReasoningContent },
            { type: "toolCallRequest", toolCallRequest: { type: "function", name: "get_weather", id: call!.id, arguments: call!.arguments } }
          ]
        },
        {
          role: "tool",
          content: [{ type: "toolCallResult", content: `{"city":"Paris","tempC":21}`, toolCallId: call!.id, name: "get_weather" }]
        }
      ])
      yield* noWarnings(sim)
    }))

  it.scopedLive("two calls in one round: two tool messages reach the model as one, and it answers from both", () =>
    Effect.gen(function*() {
      const { model, sim } = yield* setup
      const config = { rawTools: rawTools(WEATHER, TIME) }
      let chat = Chat.make(Chat.system("Use tools."), Chat.user("Call get_weather and get_time"))
      const result = yield* model.respond(chat, { config })
      assert.deepStrictEqual(result.toolCalls.map((c) => c.name), ["get_weather", "get_time"])
      chat = Chat.appendResult(chat, result)
      for (const [i, call] of result.toolCalls.entries()) {
        chat = Chat.appendToolResult(chat, JSON.stringify({ n: i }), { toolCallId: call.id, toolName: call.name })
      }
      const answer = yield* model.respond(chat, { config })
      assert.include(answer.content, `get_weather returned {"n":0}; get_time returned {"n":1}`)
      const history = (yield* predictions(sim))[1]?.history.messages
      assert.deepStrictEqual(history.map((m: Frame) => m.role), ["system", "user", "assistant", "tool"])
      assert.deepStrictEqual(history[2].content.map((p: Frame) => p.type), ["text", "toolCallRequest", "toolCallRequest"])
      assert.deepStrictEqual(history[3].content.map((p: Frame) => [p.name, p.toolCallId, p.content]), [
        ["get_weather", result.toolCalls[0]?.id, `{"n":0}`],
        ["get_time", result.toolCalls[1]?.id, `{"n":1}`]
      ])
      yield* noWarnings(sim)
    }))
})

/**
 * The official clients' `act`, one tool round against the simulator: the creation parameters of
 * its two `predict` channels.
 */
const officialAct = (sim: Simulator, version: "1.5.0" | "2.0.0", prompt: string) =>
  Effect.gen(function*() {
    const implementation = ({ city }: { city: string }) => ({ city, tempC: 21 })
    const parameters = { city: z.string() }
    yield* Effect.promise(async () => {
      const client = version === "1.5.0"
        ? new Client1({ baseUrl: sim.url, logger: silent })
        : new Client2({ baseUrl: sim.url, logger: silent }) as unknown as Client1
      const weather = version === "1.5.0"
        ? tool1({ name: "get_weather", description: "Get the weather", parameters, implementation })
        : (tool2 as unknown as typeof tool1)({ name: "get_weather", description: "Get the weather", parameters, implementation })
      try {
        const model = await client.llm.model(LLAMA)
        const result = await model.act(prompt, [weather])
        assert.strictEqual(result.rounds, 2)
      } finally {
        await client[Symbol.asyncDispose]()
      }
    })
    const [first, second] = yield* predictions(sim)
    return { first: first as Frame, second: second as Frame }
  })

describe("the history of a tool loop is what the official act sends", () => {
  for (const version of ["1.5.0", "2.0.0"] as const) {
    it.scopedLive(`act of @lmstudio/sdk ${version}, round two: the same creation parameter, history part for part`, () =>
      Effect.gen(function*() {
        const prompt = "What does get_weather say about Paris?"
        const { model, sim } = yield* setup
        const official = yield* officialAct(sim, version, prompt)
        // The tools as act offered them (from its zod parameters).
        const offered = official.first.predictionConfigStack.layers[0].config.fields
          .find((f: Frame) => f.key === "llm.prediction.tools").value
        const chat = Chat.make(Chat.user(prompt))
        const result = yield* model.respond(chat, { config: { rawTools: offered } })
        const [call] = result.toolCalls
        assert.isDefined(call)
        const value = JSON.stringify({ city: call!.arguments?.["city"], tempC: 21 })
        // 1.5.0 sends no tool name with a result; 2.0.0 does.
        const next = chat.pipe(
          Chat.appendResult(result),
          Chat.appendToolResult(value, { toolCallId: call!.id, ...(version === "2.0.0" ? { toolName: call!.name } : {}) })
        )
        yield* model.respond(next, { config: { rawTools: offered } })
        const [, , ourFirst, ours] = yield* predictions(sim)
        // The whole creation parameters (same instance, same tools config), history included.
        assert.deepStrictEqual(ourFirst, official.first)
        assert.deepStrictEqual(ours, official.second)
        assert.deepStrictEqual(ours?.history.messages.map((m: Frame) => m.role), ["user", "assistant", "tool"])
        yield* noWarnings(sim)
      }))
  }
})

describe("tool fields are checked before any frame", () => {
  const call = { type: "function" as const, name: "get_weather", id: "call_1", arguments: { city: "Paris" } }
  const user = { role: "user" as const, content: "weather?" }
  const withCall = (toolCall: unknown) => [user, { role: "assistant", content: "", toolCalls: [toolCall] }]
  const cases: ReadonlyArray<readonly [string, string, unknown]> = [
    ["toolCalls on a user message", "chat[0].toolCalls", [{ ...user, toolCalls: [call] }]],
    ["toolCalls that are not an array", "chat[1].toolCalls", [user, { role: "assistant", content: "", toolCalls: call }]],
    ["a tool call that is not an object", "chat[1].toolCalls[0]", withCall("get_weather")],
    ["a tool call without a name", "chat[1].toolCalls[0].name", withCall({ type: "function" })],
    ["a tool call with an empty name", "chat[1].toolCalls[0].name", withCall({ ...call, name: "" })],
    ["a tool call whose type is not function", "chat[1].toolCalls[0].type", withCall({ ...call, type: "tool" })],
    ["a tool call id that is not a string", "chat[1].toolCalls[0].id", withCall({ ...call, id: 1 })],
    ["tool call arguments that are an array", "chat[1].toolCalls[0].arguments", withCall({ ...call, arguments: ["Paris"] })],
    ["tool call arguments that are a JSON string", "chat[1].toolCalls[0].arguments", withCall({ ...call, arguments: "{}" })],
    ["an unknown tool call field", "chat[1].toolCalls[0].args", withCall({ ...call, args: {} })],
    ["toolCallId on an assistant message", "chat[1].toolCallId", [user, { role: "assistant", content: "x", toolCallId: "call_1" }]],
    ["toolName on a user message", "chat[0].toolName", [{ ...user, toolName: "get_weather" }]],
    ["a toolCallId that is not a string", "chat[2].toolCallId", [...withCall(call), { role: "tool", content: "{}", toolCallId: 1 }]],
    ["a toolName that is not a string", "chat[2].toolName", [...withCall(call), { role: "tool", content: "{}", toolName: null }]],
    ["images on a tool message", "chat[2].images", [...withCall(call), {
      role: "tool",
      content: "{}",
      images: [{ name: "a.png", identifier: "1-a.png", type: "image", sizeBytes: 1 }]
    }]],
    ["a misspelt tool field", "chat[2].tool_call_id", [...withCall(call), { role: "tool", content: "{}", tool_call_id: "call_1" }]],
    ["an unknown role", "chat[0].role", [{ role: "function", content: "{}" }]]
  ]
  for (const [name, field, chat] of cases) {
    it.scopedLive(`${name}: InvalidArgumentError naming ${field}`, () =>
      Effect.gen(function*() {
        const { model, sim } = yield* setup
        const before = (yield* inbound(sim)).length
        const error = yield* Effect.flip(model.respond(chat as any))
        assert.strictEqual(error._tag, "InvalidArgumentError")
        assert.strictEqual((error as any).field, field)
        const template = yield* Effect.flip(model.applyPromptTemplate(chat as any))
        assert.strictEqual((template as any).field, field)
        assert.strictEqual((yield* inbound(sim)).length, before)
      }))
  }

  it.scopedLive("the message names the rule and the fields", () =>
    Effect.gen(function*() {
      const { model } = yield* setup
      const misplaced = yield* Effect.flip(model.respond([{ ...user, toolCalls: [call] }]))
      assert.include(misplaced.message, "only assistant messages carry tool calls")
      const misspelt = yield* Effect.flip(model.respond([{ role: "tool", content: "{}", tool_call_id: "x" } as any]))
      assert.include(misspelt.message, "toolCalls, toolCallId, toolName")
    }))

  it("Chat constructors apply the same rules (ChatMessage's Schema)", () => {
    const bad: ReadonlyArray<readonly [string, () => unknown]> = [
      ["toolCalls", () => Chat.make({ role: "user", content: "x", toolCalls: [call] })],
      ["toolCallId", () => Chat.make({ role: "assistant", content: "x", toolCallId: "call_1" })],
      ["toolName", () => Chat.make({ role: "system", content: "x", toolName: "get_weather" })],
      ["name", () => Chat.assistant("", { toolCalls: [{ type: "function", name: "" }] })],
      ["arguments", () => Chat.assistant("", { toolCalls: [{ type: "function", name: "f", arguments: [] as any }] })]
    ]
    for (const [path, make] of bad) assert.throws(make, new RegExp(`\\["?${path}"?\\]|${path}`))
    const decoded = Schema.decodeUnknownEither(Chat.ChatMessage)({ role: "user", content: "x", toolCalls: [call] })
    assert.isTrue(Either.isLeft(decoded))
    assert.include(String(Either.isLeft(decoded) && decoded.left), "only assistant messages carry tool calls")
    // Allowed: empty toolCalls anywhere, a tool message without id or name.
    assert.strictEqual(Chat.make({ role: "user", content: "x", toolCalls: [] }).messages[0]?.toolCalls.length, 0)
    assert.strictEqual(Chat.toolResult("42").toolCallId, undefined)
  })
})

describe("tool messages on the wire and as values", () => {
  const callA = { type: "function", name: "get_weather", id: "a", arguments: { city: "Paris", days: 2 } } as const
  const callB = { type: "function", name: "get_time", arguments: { zone: "CET" } } as const

  it.scopedLive("consecutive tool messages become one wire message; plain objects map like Chat values", () =>
    Effect.gen(function*() {
      const { model, sim } = yield* setup
      const chat = Chat.make(
        Chat.user("weather and time?"),
        Chat.assistant("", { toolCalls: [callA, callB] }),
        Chat.toolResult(`{"tempC":21}`, { toolCallId: "a", toolName: "get_weather" }),
        Chat.toolResult(`"12:00"`, { toolName: "get_time" }),
        Chat.user("And tomorrow?"),
        Chat.toolResult("undefined")
      )
      const plain = [
        { role: "user", content: "weather and time?" },
        { role: "assistant", content: "", toolCalls: [callA, callB] },
        { role: "tool", content: `{"tempC":21}`, toolCallId: "a", toolName: "get_weather" },
        { role: "tool", content: `"12:00"`, toolName: "get_time" },
        { role: "user", content: "And tomorrow?" },
        { role: "tool", content: "undefined" }
      ] as const
      yield* model.applyPromptTemplate(chat)
      yield* model.applyPromptTemplate(plain)
      const sent = (yield* inbound(sim)).filter((f) => f.type === "rpcCall" && f.endpoint === "applyPromptTemplate")
        .map((f) => f.parameter.history)
      assert.deepStrictEqual(sent[0], {
        messages: [
          { role: "user", content: [{ type: "text", text: "weather and time?" }] },
          {
            role: "assistant",
            content: [
              { type: "text", text: "" },
              { type: "toolCallRequest", toolCallRequest: callA },
              { type: "toolCallRequest", toolCallRequest: callB }
            ]
          },
          {
            role: "tool",
            content: [
              { type: "toolCallResult", content: `{"tempC":21}`, toolCallId: "a", name: "get_weather" },
              { type: "toolCallResult", content: `"12:00"`, name: "get_time" }
            ]
          },
          { role: "user", content: [{ type: "text", text: "And tomorrow?" }] },
          { role: "tool", content: [{ type: "toolCallResult", content: "undefined" }] }
        ]
      })
      assert.deepStrictEqual(sent[1], sent[0])
      yield* noWarnings(sim)
    }))

  it("equal chats with tool calls are equal (and hash the same); any different tool field is not", () => {
    const make = (call: Prediction.ToolCallRequest, result: Chat.ToolResultOptions = { toolCallId: "a", toolName: "get_weather" }) =>
      Chat.make(Chat.user("weather?"), Chat.assistant("Let me check.", { toolCalls: [call] }), Chat.toolResult("21", result))
    const chat = make(callA)
    // A copy built separately, its arguments' keys in another order.
    const same = make({ arguments: { days: 2, city: "Paris" }, id: "a", name: "get_weather", type: "function" })
    assert.isTrue(Equal.equals(chat, same))
    assert.strictEqual(Hash.hash(chat), Hash.hash(same))
    const different = [
      make({ ...callA, arguments: { city: "Rome", days: 2 } }),
      make({ ...callA, arguments: { city: "Paris", days: 2, extra: true } }),
      make({ ...callA, id: "b" }),
      make({ type: "function", name: "get_weather", arguments: callA.arguments }),
      make({ ...callA, name: "get_time" }),
      make(callA, { toolCallId: "b", toolName: "get_weather" }),
      make(callA, { toolCallId: "a" }),
      make(callA, { toolCallId: "a", toolName: "get_time" }),
      Chat.make(Chat.user("weather?"), Chat.assistant("Let me check."), Chat.toolResult("21", { toolCallId: "a", toolName: "get_weather" }))
    ]
    for (const [i, other] of different.entries()) assert.isFalse(Equal.equals(chat, other), `variant ${i}`)
    // Tool and assistant messages of the same text differ by role.
    assert.isFalse(Equal.equals(Chat.toolResult("x"), Chat.assistant("x")))
  })

  it("a chat with tool calls round-trips through its Schema", () => {
    const chat = Chat.make(Chat.user("weather?"), Chat.assistant("", { toolCalls: [callA, callB] }), Chat.toolResult("21", { toolCallId: "a" }))
    const json = JSON.parse(JSON.stringify(Schema.encodeSync(Chat.Chat)(chat)))
    const back = Schema.decodeUnknownSync(Chat.Chat)(json)
    assert.isTrue(Equal.equals(back, chat))
    // A message stored before tool calls existed still decodes.
    const old = Schema.decodeUnknownSync(Chat.Chat)({ messages: [{ role: "assistant", content: "Hi", images: [] }] })
    assert.isTrue(Equal.equals(old, Chat.make(Chat.assistant("Hi"))))
  })

  it("appendAssistant / appendToolResult work data-first and data-last", () => {
    const base = Chat.make(Chat.user("weather?"))
    const piped = base.pipe(Chat.appendAssistant("", { toolCalls: [callA] }), Chat.appendToolResult("21", { toolCallId: "a" }))
    const direct = Chat.appendToolResult(Chat.appendAssistant(base, "", { toolCalls: [callA] }), "21", { toolCallId: "a" })
    assert.isTrue(Equal.equals(piped, direct))
    assert.deepStrictEqual(piped.messages[1]?.toolCalls, [callA])
    assert.strictEqual(piped.messages[2]?.role, "tool")
  })
})

describe("results and tool calls", () => {
  const end = (request: unknown) => ({ type: "toolCallGenerationEnd", toolCallRequest: request })

  it.scopedLive("toolCalls lists well-formed requests in order; malformed ones are dropped; none gives []", () =>
    Effect.gen(function*() {
      const server = yield* PredictServer.make({
        _tag: "Answer",
        fragments: ["ok"],
        extra: [
          { type: "toolCallGenerationStart", toolCallId: "c0" },
          end({ type: "function", name: "first", id: "c0", arguments: { a: 1 }, futureField: true }),
          end({ type: "function", name: "no_id" }),
          end({ type: "function", name: "" }),
          end({ type: "function", name: "bad_id", id: 7 }),
          end({ type: "function", name: "bad_arguments", arguments: "{}" }),
          end(null)
        ]
      }, 0)
      const client = yield* LMStudioClient.make({ baseUrl: server.url })
      const model = yield* client.llm.model()
      const result = yield* model.respond("tools?")
      assert.deepStrictEqual(result.toolCalls, [
        { type: "function", name: "first", id: "c0", arguments: { a: 1 } },
        { type: "function", name: "no_id" }
      ])
      const message = Chat.fromResult(result)
      assert.deepStrictEqual(message.toolCalls, result.toolCalls)
      assert.strictEqual(message.content, "ok")
      server.behaviour = { _tag: "Answer", fragments: ["ok"] }
      const plain = yield* model.respond("no tools")
      assert.deepStrictEqual(plain.toolCalls, [])
      assert.isTrue(Equal.equals(Chat.fromResult(plain), Chat.assistant("ok")))
    }))
})
