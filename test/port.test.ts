import { assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Mailbox from "effect/Mailbox"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Scope from "effect/Scope"
import * as Exit from "effect/Exit"
import * as Stream from "effect/Stream"
import * as net from "node:net"
import * as Credentials from "../src/internal/credentials.js"
import * as Port from "../src/internal/port.js"
import { openChannel } from "./support/channel.js"
import { acceptAll, listen, type Peer, type Script } from "./support/scriptedServer.js"

const makePort = (url: string, overrides: Partial<Port.PortOptions> = {}) =>
  Port.make({
    url: `${url}/llm`,
    credentials: Credentials.guest(),
    openTimeout: Duration.seconds(2),
    keepAlive: Option.none(),
    ...overrides
  })

const isRpc = (frame: unknown): frame is { type: "rpcCall"; callId: number; endpoint: string; parameter?: unknown } =>
  typeof frame === "object" && frame !== null && (frame as { type?: unknown }).type === "rpcCall"

/** Answers `echo` with its parameter, `fail` with an rpcError, and leaves `hang` pending. */
const echo: Script = acceptAll((peer: Peer, frame) => {
  if (!isRpc(frame)) return
  if (frame.endpoint === "echo") peer.send({ type: "rpcResult", callId: frame.callId, result: frame.parameter })
  if (frame.endpoint === "void") peer.send({ type: "rpcResult", callId: frame.callId })
  if (frame.endpoint === "fail") {
    peer.send({ type: "rpcError", callId: frame.callId, error: { title: "Boom", cause: "because", suggestion: "try again" } })
  }
})

describe("port", () => {
  it.scopedLive("authenticates first, then makes an RPC with the exact frame shapes", () =>
    Effect.gen(function*() {
      const server = yield* listen(echo)
      const port = yield* makePort(server.url)
      assert.strictEqual(server.connections, 0, "sockets open lazily")
      const result = yield* port.call("echo", { a: 1 })
      assert.deepStrictEqual(result, { a: 1 })
      assert.strictEqual(yield* port.call("void"), undefined)
      const frames = server.received.map((r) => r.frame)
      assert.strictEqual((frames[0] as { authVersion: number }).authVersion, 1)
      assert.deepStrictEqual(frames[1], { type: "rpcCall", endpoint: "echo", callId: 0, parameter: { a: 1 } })
      assert.deepStrictEqual(frames[2], { type: "rpcCall", endpoint: "void", callId: 1 }, "no parameter key")
      assert.strictEqual(server.received[0]?.path, "/llm")
    }))

  it.scopedLive("an RPC error becomes a ServerError keeping title, cause and suggestion", () =>
    Effect.gen(function*() {
      const server = yield* listen(echo)
      const port = yield* makePort(server.url)
      const error = yield* Effect.flip(port.call("fail"))
      assert.strictEqual(error._tag, "ServerError")
      if (error._tag !== "ServerError") return
      assert.strictEqual(error.title, "Boom")
      assert.strictEqual(error.serverCause, "because")
      assert.strictEqual(error.suggestion, "try again")
      assert.include(error.message, "Boom")
    }))

  it.scopedLive("concurrent first calls share one connection and each gets its own answer", () =>
    Effect.gen(function*() {
      const server = yield* listen(echo)
      const port = yield* makePort(server.url)
      const results = yield* Effect.forEach(Array.from({ length: 200 }, (_, i) => i), (i) => port.call("echo", i), {
        concurrency: "unbounded"
      })
      assert.deepStrictEqual(results, Array.from({ length: 200 }, (_, i) => i))
      assert.strictEqual(server.connections, 1)
    }))

  it.scopedLive("frames sent in the same tick leave the client in one write (the corked path)", () =>
    Effect.gen(function*() {
      const server = yield* listen(echo)
      const port = yield* makePort(server.url)
      yield* port.call("echo", 0)
      // Observe (not replace) Node's socket writes: how many chunks each write of the client carries.
      const chunksPerWrite: Array<number> = []
      type Writev = (this: net.Socket, chunks: Array<unknown>, callback: unknown) => void
      const socketProto = net.Socket.prototype as unknown as { _writev: Writev }
      const original = socketProto._writev
      yield* Effect.acquireRelease(
        Effect.sync(() => {
          socketProto._writev = function(chunks, callback) {
            if (this.remotePort === server.port) chunksPerWrite.push(chunks.length)
            return original.call(this, chunks, callback)
          }
        }),
        () => Effect.sync(() => (socketProto._writev = original))
      )
      const ids = Array.from({ length: 10 }, (_, i) => i)
      assert.deepStrictEqual(yield* Effect.forEach(ids, (i) => port.call("echo", i), { concurrency: "unbounded" }), ids)
      // `ws` writes a frame as header + payload; without corking, no write carries two frames.
      assert.isAtLeast(Math.max(0, ...chunksPerWrite), 4, `chunks per write: ${chunksPerWrite.join(", ")}`)
    }))

  it.scopedLive("refused authentication is an AuthenticationError with the server's reason and no passkey", () =>
    Effect.gen(function*() {
      const server = yield* listen((peer) => peer.send({ success: false, error: "Invalid client passkey" }))
      const passkey = "0123456789abcdefGHIJ"
      const port = yield* makePort(server.url, {
        credentials: { clientIdentifier: "AbCd1234", clientPasskey: Redacted.make(passkey) }
      })
      const error = yield* Effect.flip(port.call("echo", 1))
      assert.strictEqual(error._tag, "AuthenticationError")
      assert.include(error.message, "Invalid client passkey")
      assert.notInclude(error.message, passkey)
      assert.notInclude(JSON.stringify(error), passkey)
      assert.notInclude(String(error), passkey)
    }))

  it.scopedLive("a channel delivers packets in order, then ends on channelClose", () =>
    Effect.gen(function*() {
      const server = yield* listen(acceptAll((peer, frame) => {
        const f = frame as { type: string; channelId: number }
        if (f.type !== "channelCreate") return
        for (let i = 0; i < 5; i++) peer.send({ type: "channelSend", channelId: f.channelId, message: { i } })
        peer.send({ type: "channelClose", channelId: f.channelId })
      }))
      const port = yield* makePort(server.url)
      const channel = yield* openChannel(port, "count", { from: 0 })
      const packets = yield* Stream.runCollect(Mailbox.toStream(channel.packets))
      assert.deepStrictEqual(Chunk.toReadonlyArray(packets), [0, 1, 2, 3, 4].map((i) => ({ i })))
      assert.deepStrictEqual(server.received[1]?.frame, {
        type: "channelCreate",
        endpoint: "count",
        channelId: 0,
        creationParameter: { from: 0 }
      })
    }))
})

describe("port faults", () => {
  it.scopedLive("a channelError fails the channel with the decoded error", () =>
    Effect.gen(function*() {
      const server = yield* listen(acceptAll((peer, frame) => {
        const f = frame as { type: string; channelId: number }
        if (f.type === "channelCreate") {
          peer.send({ type: "channelSend", channelId: f.channelId, message: { first: true } })
          peer.send({
            type: "channelError",
            channelId: f.channelId,
            error: { title: "No model", displayData: { code: "generic.pathNotFound", path: "nope", availablePathsSample: ["a/b"], totalModels: 1 } }
          })
        }
      }))
      const port = yield* makePort(server.url)
      const channel = yield* openChannel(port, "loadModel", {})
      const exit = yield* Effect.exit(Stream.runCollect(Mailbox.toStream(channel.packets)))
      assert.isTrue(Exit.isFailure(exit))
      const error = yield* Effect.flip(Stream.runCollect(Mailbox.toStream(channel.packets)))
      assert.strictEqual(error._tag, "ModelNotFoundError")
      assert.include(error.message, "a/b")
    }))

  it.scopedLive("closing the channel's scope early sends the cancel packet", () =>
    Effect.gen(function*() {
      const server = yield* listen(acceptAll((peer, frame) => {
        const f = frame as { type: string; channelId: number }
        if (f.type === "channelCreate") peer.send({ type: "channelSend", channelId: f.channelId, message: { progress: 0.1 } })
      }))
      const port = yield* makePort(server.url)
      const fiber = yield* Effect.scoped(
        Effect.flatMap(openChannel(port, "loadModel", {}, { cancelMessage: { type: "cancel" } }), (channel) =>
          Stream.runCollect(Mailbox.toStream(channel.packets)))
      ).pipe(Effect.fork)
      yield* Effect.sleep("50 millis")
      yield* Fiber.interrupt(fiber)
      yield* Effect.sleep("50 millis")
      const last = server.received.at(-1)?.frame
      assert.deepStrictEqual(last, { type: "channelSend", channelId: 0, message: { type: "cancel" } })
    }))

  it.scopedLive("malformed frames are reported and ignored; the port keeps working", () =>
    Effect.gen(function*() {
      const server = yield* listen(acceptAll((peer, frame) => {
        if (!isRpc(frame)) return
        if (frame.endpoint === "bad") {
          peer.sendRaw("{not json")
          peer.send({ type: "mystery" })
          peer.send({ type: "rpcResult", callId: 999, result: 1 })
          peer.send({ type: "rpcResult", callId: frame.callId, result: [1, 2] })
          peer.send({ type: "rpcResult", callId: frame.callId, result: "duplicate" })
        }
        if (frame.endpoint === "wrongShape") peer.send({ type: "rpcError", callId: frame.callId, error: 42 })
        if (frame.endpoint === "echo") peer.send({ type: "rpcResult", callId: frame.callId, result: frame.parameter })
      }))
      const port = yield* makePort(server.url)
      assert.deepStrictEqual(yield* port.call("bad"), [1, 2], "the duplicate result does not leak into another call")
      const serverError = yield* Effect.flip(port.call("wrongShape"))
      assert.strictEqual(serverError._tag, "ServerError", "an unreadable error payload is read leniently")
      assert.strictEqual((serverError as { title: string }).title, "Unknown error")
      assert.strictEqual(yield* port.call("echo", "still fine"), "still fine")
      const warnings = server.received.filter((r) => (r.frame as { type?: string }).type === "communicationWarning")
      // A message of an unknown type is from a newer protocol: ignored without a warning.
      assert.strictEqual(warnings.length, 3, "not JSON, unknown callId, duplicate result")
    }))

  it.scopedLive("a frame of a known type with a malformed body fails only the channel it names, with a ProtocolError", () =>
    Effect.gen(function*() {
      const server = yield* listen(acceptAll((peer, frame) => {
        const f = frame as { type: string; channelId: number }
        if (f.type === "channelCreate") peer.send({ type: "channelSend", channelId: f.channelId, message: {}, ackId: "one" })
        if (isRpc(frame) && frame.endpoint === "echo") {
          peer.send({ type: "rpcResult", callId: frame.callId, result: frame.parameter })
        }
      }))
      const port = yield* makePort(server.url)
      const channel = yield* openChannel(port, "wrong", {})
      const error = yield* Effect.flip(Stream.runCollect(Mailbox.toStream(channel.packets)))
      assert.strictEqual(error._tag, "ProtocolError")
      assert.include(error.message, "wrong")
      assert.strictEqual(yield* port.call("echo", 7), 7)
    }))

  it.scopedLive("a message of an unknown type is ignored, even when it names a pending call: the call goes on", () =>
    Effect.gen(function*() {
      const server = yield* listen(acceptAll((peer, frame) => {
        if (!isRpc(frame)) return
        peer.send({ type: "rpcProgress", callId: frame.callId, progress: 0.5 })
        peer.send({ type: "rpcResult", callId: frame.callId, result: frame.parameter })
      }))
      const port = yield* makePort(server.url)
      assert.strictEqual(yield* port.call("echo", 7), 7)
      const warnings = server.received.filter((r) => (r.frame as { type?: string }).type === "communicationWarning")
      assert.deepStrictEqual(warnings, [], "nothing is reported to the server")
    }))

  it.scopedLive("a dropped socket fails every pending call at once, and the next call reconnects", () =>
    Effect.gen(function*() {
      const server = yield* listen(echo)
      const port = yield* makePort(server.url)
      yield* port.call("echo", 1)
      const pending = yield* Effect.forEach([1, 2, 3], () => Effect.fork(port.call("hang")))
      yield* Effect.sleep("30 millis")
      server.dropAll()
      const exits = yield* Effect.forEach(pending, Fiber.await).pipe(Effect.timeout("1 second"))
      for (const exit of exits) {
        assert.isTrue(Exit.isFailure(exit))
        if (Exit.isFailure(exit)) assert.include(JSON.stringify(exit.cause), "ConnectionError")
      }
      assert.strictEqual(yield* port.call("echo", 2), 2)
      assert.strictEqual(server.connections, 2)
      const ids = server.peers[1]!.received.filter(isRpc).map((f) => f.callId)
      assert.deepStrictEqual(ids, [0], "ids restart on a new connection")
    }))

  it.scopedLive("nothing listening: a typed ConnectionError, fast", () =>
    Effect.gen(function*() {
      const port = yield* makePort("ws://127.0.0.1:1")
      const error = yield* Effect.flip(port.call("echo", 1)).pipe(Effect.timeout("2 seconds"))
      assert.strictEqual(error._tag, "ConnectionError")
      assert.include(error.message, "ws://127.0.0.1:1/llm")
      if (error._tag === "ConnectionError") assert.instanceOf(error.cause, Error, "the socket's own error is kept as cause")
    }))

  it.scopedLive("closing the port's scope fails pending calls with ClientClosed", () =>
    Effect.gen(function*() {
      const server = yield* listen(echo)
      const scope = yield* Scope.make()
      const port = yield* makePort(server.url).pipe(Scope.extend(scope))
      yield* port.call("echo", 1)
      const pending = yield* Effect.fork(port.call("hang"))
      yield* Effect.sleep("20 millis")
      yield* Scope.close(scope, Exit.void)
      const exit = yield* Fiber.await(pending).pipe(Effect.timeout("1 second"))
      assert.isTrue(Exit.isFailure(exit))
      assert.include(JSON.stringify(exit), "ClientClosed")
      const error = yield* Effect.flip(port.call("echo", 1))
      assert.strictEqual(error._tag, "ConnectionError")
    }))

  it.scopedLive("keep-alive detects a peer that stopped answering", () =>
    Effect.gen(function*() {
      const server = yield* listen(echo) // never answers keepAlive
      const port = yield* makePort(server.url, {
        keepAlive: Option.some({ interval: Duration.millis(50), timeout: Duration.millis(100) })
      })
      yield* port.call("echo", 1)
      const error = yield* Effect.flip(port.call("hang")).pipe(Effect.timeout("1 second"))
      assert.strictEqual(error._tag, "ConnectionError")
      assert.strictEqual((error as { reason: string }).reason, "KeepAliveTimeout")
    }))

  it.scopedLive("keep-alive stays up while the peer answers", () =>
    Effect.gen(function*() {
      const server = yield* listen(acceptAll((peer, frame) => {
        if ((frame as { type?: string }).type === "keepAlive") peer.send({ type: "keepAliveAck" })
        if (isRpc(frame) && frame.endpoint === "echo") peer.send({ type: "rpcResult", callId: frame.callId, result: frame.parameter })
      }))
      const port = yield* makePort(server.url, {
        keepAlive: Option.some({ interval: Duration.millis(20), timeout: Duration.millis(100) })
      })
      yield* port.call("echo", 1)
      yield* Effect.sleep("250 millis")
      assert.strictEqual(yield* port.call("echo", 2), 2)
      assert.strictEqual(server.connections, 1)
      assert.isAtLeast(server.received.filter((r) => (r.frame as { type?: string }).type === "keepAlive").length, 3)
    }))
})

describe("port: acknowledgements", () => {
  it.scopedLive("channelAck frames are accepted and ignored", () =>
    Effect.gen(function*() {
      const server = yield* listen(acceptAll((peer, frame) => {
        const f = frame as { type: string; channelId: number }
        if (f.type !== "channelCreate") return
        peer.send({ type: "channelAck", channelId: f.channelId, ackId: 1 })
        peer.send({ type: "channelSend", channelId: f.channelId, message: "x", ackId: 2 })
        peer.send({ type: "channelClose", channelId: f.channelId })
      }))
      const port = yield* makePort(server.url)
      const channel = yield* openChannel(port, "c", undefined)
      const packets = yield* Stream.runCollect(Mailbox.toStream(channel.packets))
      assert.deepStrictEqual(Chunk.toReadonlyArray(packets), ["x"])
      assert.deepStrictEqual(server.received[1]?.frame, { type: "channelCreate", endpoint: "c", channelId: 0 }, "no creationParameter key")
    }))
})

describe("port: channels left early", () => {
  it.scopedLive("late frames of a channel this side left are expected, not reported as unknown", () =>
    Effect.gen(function*() {
      let peer: Peer | undefined
      let channelId = -1
      const server = yield* listen(acceptAll((p, frame) => {
        const f = frame as { type: string; channelId: number }
        if (f.type === "channelCreate") {
          peer = p
          channelId = f.channelId
        }
      }))
      const port = yield* makePort(server.url)
      yield* Effect.scoped(openChannel(port, "loadModel", {}, { cancelMessage: { type: "cancel" } }))
      while (peer === undefined) yield* Effect.sleep("5 millis")
      // The server answers the cancel after this side has already left the channel.
      peer?.send({ type: "channelSend", channelId, message: { type: "progress", progress: 0.5 } })
      peer?.send({ type: "channelError", channelId, error: { title: "Model loading was cancelled" } })
      peer?.send({ type: "channelClose", channelId: 4242 })
      yield* Effect.sleep("50 millis")
      const warnings = server.received.filter((r) => (r.frame as { type?: string }).type === "communicationWarning")
      assert.deepStrictEqual(
        warnings.map((w) => (w.frame as { warning: string }).warning),
        ["Received channelClose for unknown channelId 4242"],
        "only the truly unknown channel is reported"
      )
    }))
})
