/**
 * Connecting: baseUrl validation, local discovery, authentication with API tokens, and secrets
 * that never leak into errors, logs or spans.
 */
import { assert, describe, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Redacted from "effect/Redacted"
import { LMStudioClient, Lms } from "../src/index.js"
import { LMStudioSimulator } from "../src/testing/index.js"
import { LLAMA } from "./support/harness.js"
import { recordingTracer } from "./support/recordingTracer.js"
import { listen } from "./support/scriptedServer.js"

const TOKEN = "sk-lm-AbCd1234:0123456789abcdefGHIJ"
const PASSKEY = "0123456789abcdefGHIJ"

describe("baseUrl validation (no I/O)", () => {
  const bad: ReadonlyArray<readonly [string, string]> = [
    ["http://127.0.0.1:1234", "ws://"],
    ["ws://127.0.0.1:1234/", "end with"],
    ["ws://127.0.0.1:1234?x=1", "query"],
    ["ws://127.0.0.1:1234#frag", "fragment"],
    ["ws://user:pass@127.0.0.1:1234", "username"],
    ["not a url", "not a URL"]
  ]
  for (const [url, words] of bad) {
    it.effect(`${url} is rejected`, () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(Effect.scoped(LMStudioClient.make({ baseUrl: url })))
        assert.strictEqual(error._tag, "InvalidArgumentError")
        if (error._tag === "InvalidArgumentError") assert.strictEqual(error.field, "baseUrl")
        assert.include(error.message, words)
      }))
  }

  it.scopedLive("a path prefix and wss:// are accepted", () =>
    Effect.gen(function*() {
      const client = yield* LMStudioClient.make({ baseUrl: "wss://lmstudio.example/proxy" })
      assert.strictEqual(client.baseUrl, "wss://lmstudio.example/proxy")
    }))
})

describe("discovery", () => {
  it.scopedLive("finds the port that answers the greeting, skipping dead and foreign ones", () =>
    Effect.gen(function*() {
      const sim = yield* LMStudioSimulator.make({ loadMs: 0 })
      const foreign = yield* listen(() => {}, { greeting: false }) // an HTTP server that is not LM Studio
      const client = yield* LMStudioClient.make({ discoveryPorts: [1, foreign.port, sim.port] })
      assert.strictEqual(client.baseUrl, `ws://127.0.0.1:${sim.port}`)
      yield* sim.preload(LLAMA)
      assert.strictEqual((yield* client.llm.model()).identifier, LLAMA)
    }))

  it.scopedLive("nothing answers: a ConnectionError naming every URL tried, within 2 s", () =>
    Effect.gen(function*() {
      const foreign = yield* listen(() => {}, { greeting: false })
      const start = Date.now()
      const error = yield* Effect.flip(LMStudioClient.make({ discoveryPorts: [1, 2, foreign.port] }))
      assert.isBelow(Date.now() - start, 2000)
      assert.strictEqual(error._tag, "ConnectionError")
      if (error._tag === "ConnectionError") assert.strictEqual(error.reason, "Unreachable")
      for (const port of [1, 2, foreign.port]) assert.include(error.message, `http://127.0.0.1:${port}/lmstudio-greeting`)
      assert.include(error.message, "baseUrl")
    }))

  it.scopedLive("the default discovery ports are LM Studio's five", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(LMStudioClient.make()).pipe(Effect.timeout("2 seconds"))
      // Nothing of LM Studio runs on this machine: all five are named.
      for (const port of [41343, 52993, 16141, 39414, 22931]) assert.include(error.message, String(port))
    }))

  it.scopedLive("an explicit baseUrl with nothing listening fails fast on first use", () =>
    Effect.gen(function*() {
      const client = yield* LMStudioClient.make({ baseUrl: "ws://127.0.0.1:1" })
      const error = yield* Effect.flip(client.llm.listLoaded()).pipe(Effect.timeout("2 seconds"))
      assert.strictEqual(error._tag, "ConnectionError")
      assert.include(error.message, "ws://127.0.0.1:1/llm")
    }))
})

describe("authentication", () => {
  it.scopedLive("the right API token works; the auth packet carries its identifier and passkey", () =>
    Effect.gen(function*() {
      const sim = yield* LMStudioSimulator.make({ loadMs: 0, apiToken: TOKEN })
      const client = yield* LMStudioClient.make({ baseUrl: sim.url, apiToken: Redacted.make(TOKEN) })
      assert.deepStrictEqual(yield* client.llm.listLoaded(), [])
      const auth = (yield* sim.traffic).find((t) => t.direction === "in")?.frame
      // The simulator accepted the passkey (the call succeeded); its public log never shows it.
      assert.deepStrictEqual(auth, { authVersion: 1, clientIdentifier: "AbCd1234", clientPasskey: "<redacted>" })
    }))

  it.scopedLive("a wrong token is an AuthenticationError with the server's reason and no secret", () =>
    Effect.gen(function*() {
      const sim = yield* LMStudioSimulator.make({ loadMs: 0, apiToken: "sk-lm-AbCd1234:ZZZZZZZZZZZZZZZZZZZZ" })
      const client = yield* LMStudioClient.make({ baseUrl: sim.url, apiToken: TOKEN })
      const error = yield* Effect.flip(client.llm.listLoaded())
      assert.strictEqual(error._tag, "AuthenticationError")
      assert.include(error.message, "refused")
      for (const text of [error.message, String(error), JSON.stringify(error)]) {
        assert.notInclude(text, PASSKEY)
        assert.notInclude(text, TOKEN)
      }
    }))

  it.scopedLive("a guest client against a token-protected server is refused", () =>
    Effect.gen(function*() {
      const sim = yield* LMStudioSimulator.make({ loadMs: 0, apiToken: TOKEN })
      const client = yield* LMStudioClient.make({ baseUrl: sim.url })
      const error = yield* Effect.flip(client.system.version())
      assert.strictEqual(error._tag, "AuthenticationError")
    }))

  it.effect("a malformed token is an InvalidArgumentError that does not echo it", () =>
    Effect.gen(function*() {
      const secret = "sk-lm-short:secretsecret"
      const error = yield* Effect.flip(Effect.scoped(LMStudioClient.make({ baseUrl: "ws://127.0.0.1:1234", apiToken: secret })))
      assert.strictEqual(error._tag, "InvalidArgumentError")
      if (error._tag === "InvalidArgumentError") assert.strictEqual(error.field, "apiToken")
      assert.notInclude(error.message, "secretsecret")
    }))

  it.effect("apiToken with a legacy identifier/passkey pair is rejected", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        Effect.scoped(LMStudioClient.make({ baseUrl: "ws://127.0.0.1:1234", apiToken: TOKEN, clientIdentifier: "a", clientPasskey: "b" }))
      )
      assert.strictEqual(error._tag, "InvalidArgumentError")
    }))

  it.scopedLive("legacy identifier/passkey pairs are sent as given", () =>
    Effect.gen(function*() {
      const sim = yield* LMStudioSimulator.make({ loadMs: 0 })
      const client = yield* LMStudioClient.make({ baseUrl: sim.url, clientIdentifier: "my-app", clientPasskey: "pass" })
      yield* client.llm.listLoaded()
      const auth = (yield* sim.traffic).find((t) => t.direction === "in")?.frame
      assert.deepStrictEqual(auth, { authVersion: 1, clientIdentifier: "my-app", clientPasskey: "<redacted>" })
    }))
})

describe("layerConfig", () => {
  it.scopedLive("reads LMSTUDIO_BASE_URL and LMSTUDIO_API_TOKEN", () =>
    Effect.gen(function*() {
      const sim = yield* LMStudioSimulator.make({ loadMs: 0, apiToken: TOKEN })
      yield* sim.preload(LLAMA)
      const provider = ConfigProvider.fromMap(new Map([["LMSTUDIO_BASE_URL", sim.url], ["LMSTUDIO_API_TOKEN", TOKEN]]))
      const layer = LMStudioClient.layerConfig().pipe(Layer.provide(Layer.setConfigProvider(provider)))
      const model = yield* Lms.llm().pipe(Effect.provide(layer))
      assert.strictEqual(model.identifier, LLAMA)
    }))
})

describe("secrets never leak into logs or spans", () => {
  it.scopedLive("a full session with a token: no span attribute or log line contains it", () =>
    Effect.gen(function*() {
      const { spans: recorded, tracer } = recordingTracer()
      const logs: Array<string> = []
      const logger = Logger.make(({ message, annotations }) => logs.push(`${JSON.stringify(message)} ${JSON.stringify([...annotations])}`))

      const sim = yield* LMStudioSimulator.make({ loadMs: 10, apiToken: TOKEN })
      yield* Effect.gen(function*() {
        const client = yield* LMStudioClient.make({ baseUrl: sim.url, apiToken: TOKEN })
        const model = yield* client.llm.loadNewInstance(LLAMA, { ttl: "1 hour" })
        yield* model.getInfo
        yield* model.unload
        yield* sim.faults.sendRaw("llm", "{not json")
        yield* Effect.flip(client.llm.unload("missing"))
        const wrong = yield* LMStudioClient.make({ baseUrl: sim.url, apiToken: "sk-lm-AbCd1234:YYYYYYYYYYYYYYYYYYYY" })
        yield* Effect.flip(wrong.llm.listLoaded())
      }).pipe(
        Effect.withTracer(tracer),
        Effect.provide(Logger.replace(Logger.defaultLogger, logger))
      )
      // Every name, every ended span's attributes and every event, as text.
      const spans = recorded.flatMap((span) => [
        span.name,
        ...(span.ended ? [`${span.name} ${JSON.stringify([...span.attributes])}`] : []),
        ...span.events.map((event) => `${event.name} ${JSON.stringify(event.attributes)}`)
      ])
      assert.isAbove(spans.length, 5, "spans were recorded")
      assert.isTrue(spans.some((s) => s.includes("lmstudio.model_key")), "spans carry the model key")
      for (const line of [...spans, ...logs]) {
        assert.notInclude(line, PASSKEY)
        assert.notInclude(line, "YYYYYYYYYYYYYYYYYYYY")
      }
    }))
})
