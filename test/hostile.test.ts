/**
 * Hostile or broken servers (scripted on a real loopback socket): no frame may crash the
 * process, leak a secret, flood an error or a log, block the connection, or make the client
 * blame the server for its own abandoned calls.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Mailbox from "effect/Mailbox"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { LMStudioClient } from "../src/index.js"
import * as Credentials from "../src/internal/credentials.js"
import * as Port from "../src/internal/port.js"
import { openChannel } from "./support/channel.js"
import { INSTANCE as PREDICT_INSTANCE } from "./support/predictServer.js"
import { acceptAll, listen, type Peer } from "./support/scriptedServer.js"

const TOKEN = "sk-lm-AbCd1234:0123456789abcdefGHIJ"
const PASSKEY = "0123456789abcdefGHIJ"

/** A frame of 20,000 nested arrays (40 KB): deeper than any recursive walk of it can go. */
const DEEP = "[".repeat(20_000) + "]".repeat(20_000)
const HUGE = "x".repeat(3_000_000)

const makePort = (url: string, overrides: Partial<Port.PortOptions> = {}) =>
  Effect.flatMap(Credentials.fromApiToken(TOKEN), (credentials) =>
    Port.make({
      url: `${url}/llm`,
      credentials,
      openTimeout: Duration.seconds(2),
      keepAlive: Option.none(),
      ...overrides
    }))

type Rpc = { type: "rpcCall"; callId: number; endpoint: string; parameter?: unknown }
const isRpc = (frame: unknown): frame is Rpc =>
  typeof frame === "object" && frame !== null && (frame as { type?: unknown }).type === "rpcCall"

const warningsSent = (server: { received: Array<{ frame: unknown }> }) =>
  server.received
    .map((r) => r.frame as { type?: string; warning?: string })
    .filter((f) => f.type === "communicationWarning")
    .map((f) => f.warning)

/** Runs `effect` with every log line (all levels) captured into `lines`. */
const capturingLogs = (lines: Array<string>) => <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  effect.pipe(
    Effect.provide(Logger.replace(Logger.defaultLogger, Logger.make(({ message }) => {
      lines.push(Array.isArray(message) ? message.map(String).join(" ") : String(message))
    }))),
    Logger.withMinimumLogLevel(LogLevel.All)
  )

/** Everything a person (or a log pipeline) could see of a failure. */
const everythingVisible = <E>(error: E) => {
  const cause = Cause.fail(error)
  return [String((error as { message?: unknown }).message), Cause.pretty(cause), JSON.stringify(error), String(error)]
}

describe("deeply nested frames (20,000 levels) never crash the process", () => {
  it.scopedLive("as a message of an unknown type naming a pending call: ignored, the call goes on", () =>
    Effect.gen(function*() {
      const logs: Array<string> = []
      const server = yield* listen(acceptAll((peer, frame) => {
        if (!isRpc(frame)) return
        peer.sendRaw(`{"type":"mystery","callId":${frame.callId},"payload":${DEEP}}`)
        peer.send({ type: "rpcResult", callId: frame.callId, result: "still here" })
      }))
      const port = yield* makePort(server.url)
      assert.strictEqual(yield* port.call("echo").pipe(capturingLogs(logs)), "still here")
      assert.isTrue(logs.some((line) => line.includes("mystery")), "logged at debug level")
    }))

  it.scopedLive("as a malformed known message naming a pending call: that call fails with a bounded ProtocolError", () =>
    Effect.gen(function*() {
      const logs: Array<string> = []
      const server = yield* listen(acceptAll((peer, frame) => {
        if (!isRpc(frame)) return
        if (frame.endpoint === "deepAck") peer.sendRaw(`{"type":"channelAck","channelId":0,"ackId":${DEEP}}`)
        if (frame.endpoint === "echo") peer.send({ type: "rpcResult", callId: frame.callId, result: frame.parameter })
      }))
      const port = yield* makePort(server.url)
      const channel = yield* openChannel(port, "load", {}).pipe(capturingLogs(logs))
      yield* port.call("deepAck").pipe(Effect.timeout("50 millis"), Effect.ignore)
      const error = yield* Effect.flip(Stream.runCollect(Mailbox.toStream(channel.packets)))
      assert.strictEqual(error._tag, "ProtocolError")
      assert.isBelow(error.message.length, 1_000)
      assert.strictEqual(yield* port.call("echo", 1), 1)
      assert.isTrue(logs.length > 0 && logs.every((line) => line.length < 3_000))
    }))

  it.scopedLive("as the reply to authentication: a ProtocolError", () =>
    Effect.gen(function*() {
      const server = yield* listen((peer) => peer.sendRaw(DEEP))
      const port = yield* makePort(server.url)
      const error = yield* Effect.flip(port.call("echo", 1))
      assert.strictEqual(error._tag, "ProtocolError")
      assert.include(error.message, "authentication")
      assert.isBelow(error.message.length, 1_000)
    }))

  it.scopedLive("inside an rpcError's displayData and errorData: a ServerError that can be printed and serialised", () =>
    Effect.gen(function*() {
      const server = yield* listen(acceptAll((peer, frame) => {
        if (!isRpc(frame)) return
        peer.sendRaw(
          `{"type":"rpcError","callId":${frame.callId},"error":{"title":"No model",` +
            `"displayData":{"code":"${frame.endpoint}","query":{"identifier":${DEEP}},"deep":${DEEP}},` +
            `"errorData":{"deep":${DEEP}}}}`
        )
      }))
      const port = yield* makePort(server.url)
      for (const code of ["generic.noModelMatchingQuery", "some.otherCode"]) {
        const error = yield* Effect.flip(port.call(code))
        assert.include(["ModelNotFoundError", "ServerError"], error._tag)
        for (const text of everythingVisible(error)) assert.isBelow(text.length, 20_000)
      }
    }))

  it.scopedLive("inside an rpcResult that a namespace decodes: a ProtocolError naming the endpoint", () =>
    Effect.gen(function*() {
      const server = yield* listen(acceptAll((peer, frame) => {
        if (!isRpc(frame)) return
        peer.sendRaw(`{"type":"rpcResult","callId":${frame.callId},"result":${DEEP}}`)
      }))
      const client = yield* LMStudioClient.make({ baseUrl: server.url })
      const exit = yield* Effect.exit(client.llm.listLoaded())
      assert.isTrue(Exit.isFailure(exit) && Option.isSome(Cause.failureOption(exit.cause)), "a typed failure, no defect")
      const error = yield* Effect.flip(client.llm.listLoaded())
      assert.strictEqual(error._tag, "ProtocolError")
      assert.include(error.message, "listLoaded")
      assert.isBelow(error.message.length, 1_000)
    }))
})

describe("values that cannot become strings ({\"toString\": null}) never crash or hang", () => {
  const POISON = `{"toString":null,"valueOf":null}`
  type Channel = { type: "channelCreate"; channelId: number; endpoint: string }
  const isChannel = (frame: unknown): frame is Channel =>
    typeof frame === "object" && frame !== null && (frame as { type?: unknown }).type === "channelCreate"

  it.scopedLive("as an rpc result and a load packet's type: ProtocolErrors; as a prediction packet's type: ignored, and a server that never ends the cancelled channel delays nobody past the cancel wait", () =>
    Effect.gen(function*() {
      const server = yield* listen(acceptAll((peer, frame) => {
        if (isRpc(frame)) {
          if (frame.endpoint === "getModelInfo") {
            peer.send({ type: "rpcResult", callId: frame.callId, result: { ...PREDICT_INSTANCE } })
          } else peer.sendRaw(`{"type":"rpcResult","callId":${frame.callId},"result":[${POISON}]}`)
        } else if (isChannel(frame)) {
          peer.sendRaw(`{"type":"channelSend","channelId":${frame.channelId},"message":{"type":${POISON}}}`)
        }
      }))
      const client = yield* LMStudioClient.make({ baseUrl: server.url })
      const typedFailure = <A, E>(effect: Effect.Effect<A, E>) =>
        Effect.map(Effect.exit(effect.pipe(Effect.timeout("5 seconds"))), (exit) => {
          assert.isTrue(Exit.isFailure(exit) && Option.isSome(Cause.failureOption(exit.cause)), "a typed failure, no defect")
          return Exit.isFailure(exit) ? Option.getOrThrow(Cause.failureOption(exit.cause)) : undefined
        })
      const listed = yield* typedFailure(client.llm.listLoaded())
      assert.strictEqual((listed as { _tag?: string })._tag, "ProtocolError")
      const loaded = yield* typedFailure(client.llm.loadNewInstance("qwen2.5-0.5b-instruct"))
      assert.strictEqual((loaded as { _tag?: string })._tag, "ProtocolError")
      // The prediction ignores the packet of no known type and times out; the server never
      // answers the cancel, and the wait for it is bounded (2 s), though it runs in a finalizer.
      const model = yield* client.llm.model()
      const answered = yield* typedFailure(model.respond("Hi", { predictionInactivityTimeout: "200 millis" }))
      assert.strictEqual((answered as { _tag?: string })._tag, "PredictionTimeoutError")
    }))
})

describe("the passkey never reaches an error or a log line", () => {
  it.scopedLive("an echo service that returns the auth frame as JSON", () =>
    Effect.gen(function*() {
      const logs: Array<string> = []
      const server = yield* listen((peer, frame) => peer.send(frame))
      const port = yield* makePort(server.url)
      const error = yield* Effect.flip(port.call("echo", 1)).pipe(capturingLogs(logs))
      assert.strictEqual(error._tag, "ProtocolError")
      assert.include(error.message, "authVersion", "the reply is still shown, without its secret")
      for (const text of [...everythingVisible(error), ...logs]) {
        assert.notInclude(text, PASSKEY)
        assert.notInclude(text, TOKEN)
      }
    }))

  it.scopedLive("an echo service that returns the auth frame as text", () =>
    Effect.gen(function*() {
      const logs: Array<string> = []
      const server = yield* listen((peer, frame) => peer.sendRaw(`echo: ${JSON.stringify(frame)}`))
      const port = yield* makePort(server.url)
      const error = yield* Effect.flip(port.call("echo", 1)).pipe(capturingLogs(logs))
      assert.strictEqual(error._tag, "ProtocolError")
      assert.include(error.message, "not JSON")
      for (const text of [...everythingVisible(error), ...logs]) {
        assert.notInclude(text, PASSKEY)
        assert.notInclude(text, TOKEN)
      }
    }))

  it.scopedLive("a refusal, an error, a warning and a malformed frame that quote the passkey", () =>
    Effect.gen(function*() {
      const refusing = yield* listen((peer) =>
        peer.send({ success: false, error: `Invalid passkey "${PASSKEY}" for token ${TOKEN}` })
      )
      const refused = yield* Effect.flip((yield* makePort(refusing.url)).call("echo", 1))
      assert.strictEqual(refused._tag, "AuthenticationError")
      assert.include(refused.message, "Invalid passkey")

      const logs: Array<string> = []
      const quoting = yield* listen(acceptAll((peer, frame) => {
        if (!isRpc(frame)) return
        peer.send({ type: "communicationWarning", warning: `your passkey is ${PASSKEY}` })
        peer.sendRaw(`not json ${PASSKEY}`)
        peer.send({ type: "rpcError", callId: frame.callId, error: { title: `bad ${TOKEN}`, cause: PASSKEY, suggestion: PASSKEY, errorData: { [PASSKEY]: [PASSKEY] } } })
      }))
      const failed = yield* Effect.flip((yield* makePort(quoting.url)).call("echo", 1)).pipe(capturingLogs(logs))
      assert.strictEqual(failed._tag, "ServerError")
      assert.isAtLeast(logs.length, 2)
      for (const text of [...everythingVisible(refused), ...everythingVisible(failed), ...logs]) {
        assert.notInclude(text, PASSKEY)
        assert.notInclude(text, TOKEN)
      }
    }))
})

describe("server text of any size is bounded in errors and logs", () => {
  it.scopedLive("a 3 MB refusal reason, rpcError title/cause/suggestion and warning", () =>
    Effect.gen(function*() {
      const refusing = yield* listen((peer) => peer.send({ success: false, error: HUGE }))
      const refused = yield* Effect.flip((yield* makePort(refusing.url)).call("echo", 1))
      assert.strictEqual(refused._tag, "AuthenticationError")
      assert.isBelow(refused.message.length, 3_000)
      assert.include(refused.message, "characters cut")

      const logs: Array<string> = []
      const verbose = yield* listen(acceptAll((peer, frame) => {
        if (!isRpc(frame)) return
        peer.send({ type: "communicationWarning", warning: HUGE })
        peer.send({ type: "rpcError", callId: frame.callId, error: { title: HUGE, cause: HUGE, suggestion: HUGE } })
      }))
      const failed = yield* Effect.flip((yield* makePort(verbose.url)).call("echo", 1)).pipe(capturingLogs(logs))
      assert.strictEqual(failed._tag, "ServerError")
      for (const text of everythingVisible(failed)) assert.isBelow(text.length, 20_000)
      assert.include(failed.message, "(2998000 more characters cut)")
      assert.isTrue(logs.length > 0 && logs.every((line) => line.length < 3_000))
    }))
})

describe("a Close frame without a TCP close", () => {
  it.scopedLive("fails pending calls at once, and the next call reconnects", () =>
    Effect.gen(function*() {
      const server = yield* listen(acceptAll((peer, frame) => {
        if (!isRpc(frame)) return
        if (frame.endpoint === "echo") peer.send({ type: "rpcResult", callId: frame.callId, result: frame.parameter })
        if (frame.endpoint === "goAway") peer.sendCloseFrameOnly(1001)
      }))
      const port = yield* makePort(server.url)
      yield* port.call("echo", 1)
      const pending = yield* Effect.fork(port.call("hang"))
      // `ws` would wait 30 s for the TCP close; 5 s tells a prompt failure from that wait.
      const exit = yield* Effect.exit(port.call("goAway")).pipe(Effect.timeout("5 seconds"))
      assert.isTrue(Exit.isFailure(exit) && JSON.stringify(exit.cause).includes("ConnectionError"))
      const hung = yield* Fiber.await(pending).pipe(Effect.timeout("5 seconds"))
      assert.isTrue(Exit.isFailure(hung) && JSON.stringify(hung.cause).includes("1001"))
      assert.strictEqual(yield* port.call("echo", 2).pipe(Effect.timeout("5 seconds")), 2)
      assert.strictEqual(server.connections, 2)
    }))
})

describe("late replies to calls this side abandoned", () => {
  it.scopedLive("are expected: no communicationWarning, no warning budget spent", () =>
    Effect.gen(function*() {
      const held: Array<{ peer: Peer; callId: number }> = []
      const server = yield* listen(acceptAll((peer, frame) => {
        if (!isRpc(frame)) return
        if (frame.endpoint === "slow") held.push({ peer, callId: frame.callId })
        if (frame.endpoint === "echo") peer.send({ type: "rpcResult", callId: frame.callId, result: frame.parameter })
        if (frame.endpoint === "flush") {
          for (const { callId } of held.splice(0)) peer.send({ type: "rpcResult", callId, result: "late" })
          peer.send({ type: "rpcError", callId: 10_000, error: { title: "for nobody" } })
          peer.send({ type: "rpcResult", callId: frame.callId, result: "flushed" })
        }
      }))
      const port = yield* makePort(server.url)
      yield* port.call("echo", 0)
      // Seven callers give up (more than the five-warning budget): by timeout or interruption.
      for (let i = 0; i < 4; i++) assert.isTrue(Option.isNone(yield* port.call("slow").pipe(Effect.timeoutOption("10 millis"))))
      const interrupted = yield* Effect.forEach([1, 2, 3], () => Effect.fork(port.call("slow")))
      while (held.length < 7) yield* Effect.sleep("5 millis")
      yield* Effect.forEach(interrupted, Fiber.interrupt)
      assert.strictEqual(yield* port.call("flush"), "flushed")
      assert.strictEqual(yield* port.call("echo", 1), 1)
      yield* Effect.sleep("20 millis")
      assert.deepStrictEqual(warningsSent(server), ["Received rpcError for unknown callId 10000"])
    }))
})

describe("forward compatibility: unknown packet types inside a channel", () => {
  it.scopedLive("are logged at debug level and dropped; the channel goes on", () =>
    Effect.gen(function*() {
      const logs: Array<string> = []
      const server = yield* listen(acceptAll((peer, frame) => {
        const f = frame as { type: string; channelId: number }
        if (f.type !== "channelCreate") return
        const send = (message: unknown) => peer.send({ type: "channelSend", channelId: f.channelId, message })
        send({ type: "progress", progress: 0.5 })
        send({ type: "somethingNew", detail: 1 })
        send({ type: "success", ok: true })
        peer.send({ type: "channelClose", channelId: f.channelId })
      }))
      const port = yield* makePort(server.url)
      const packets = yield* openChannel(port, "load", {}, { packetTypes: new Set(["progress", "success"]) }).pipe(
        Effect.flatMap((channel) => Stream.runCollect(Mailbox.toStream(channel.packets))),
        capturingLogs(logs)
      )
      assert.deepStrictEqual(Chunk.toReadonlyArray(packets), [{ type: "progress", progress: 0.5 }, { type: "success", ok: true }])
      assert.isTrue(logs.some((line) => line.includes("somethingNew")))
      assert.deepStrictEqual(warningsSent(server), [])
    }))
})

describe("coalescing idempotent packets", () => {
  const progressKind = (packet: object) => (packet as { type?: unknown }).type === "progress" ? "progress" : undefined

  it.scopedLive("a stalled consumer holds one queued progress packet (the latest), in order with the others", () =>
    Effect.gen(function*() {
      const server = yield* listen(acceptAll((peer, frame) => {
        const f = frame as { type: string; channelId: number }
        if (f.type !== "channelCreate") return
        const send = (message: unknown) => peer.send({ type: "channelSend", channelId: f.channelId, message })
        send({ type: "resolved" })
        for (let i = 1; i <= 50_000; i++) send({ type: "progress", progress: i / 50_000 })
        send({ type: "startLoading" })
        send({ type: "success" })
      }))
      const port = yield* makePort(server.url)
      const all = yield* Deferred.make<void>()
      let seen = 0
      const channel = yield* openChannel(port, "load", {}, {
        coalesce: progressKind,
        onPacket: () => {
          if (++seen === 50_003) Deferred.unsafeDone(all, Exit.void)
        }
      })
      yield* Deferred.await(all)
      const [queued] = yield* channel.packets.takeAll
      assert.deepStrictEqual(Chunk.toReadonlyArray(queued), [
        { type: "resolved" },
        { type: "progress", progress: 1 },
        { type: "startLoading" },
        { type: "success" }
      ])
    }))

  it.scopedLive("a packet already taken is never changed; the next one of its kind queues anew", () =>
    Effect.gen(function*() {
      let send: (message: unknown) => void = () => {}
      const server = yield* listen(acceptAll((peer, frame) => {
        const f = frame as { type: string; channelId: number }
        if (f.type === "channelCreate") send = (message) => peer.send({ type: "channelSend", channelId: f.channelId, message })
      }))
      const port = yield* makePort(server.url)
      let seen = 0
      const channel = yield* openChannel(port, "load", {}, { coalesce: progressKind, onPacket: () => seen++ })
      while (server.received.length < 2) yield* Effect.sleep("5 millis")
      send({ type: "progress", progress: 0.1 })
      const first = yield* channel.packets.take
      send({ type: "progress", progress: 0.2 })
      send({ type: "progress", progress: 0.3 })
      while (seen < 3) yield* Effect.sleep("5 millis")
      const second = yield* channel.packets.take
      assert.deepStrictEqual(first, { type: "progress", progress: 0.1 })
      assert.deepStrictEqual(second, { type: "progress", progress: 0.3 })
    }))
})
