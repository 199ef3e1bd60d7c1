/**
 * One WebSocket connection: authentication first, then the envelope: RPCs and
 * channels multiplexed by id, per-connection id spaces, communication warnings,
 * keep-alive. Frames are processed strictly in arrival order by one fiber; every handler
 * runs in a fiber of a per-connection `FiberSet`, so closing the socket interrupts them all.
 *
 * @internal
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as FiberSet from "effect/FiberSet"
import * as Mailbox from "effect/Mailbox"
import * as Stream from "effect/Stream"
import { WebSocket } from "ws"
import { type ClientMessage, decodeAuthPacket, decodeClientMessage } from "../../internal/protocol/messages.js"
import type { CallContext, ChannelContext } from "./context.js"
import { endpointsOf } from "./endpoints.js"
import { failure, type ServerFailure } from "./errors.js"
import { domainOfNamespace } from "./models.js"
import { authorize, type ConnectionEntry, logTraffic, type Sim } from "./state.js"

/** The reference server's authentication deadline [inferred to be LM Studio's]. */
const AUTH_DEADLINE_MS = 10_000
/** At most this many warnings per connection. */
const MAX_WARNINGS = 5

type Parsed = { readonly ok: true; readonly value: unknown } | { readonly ok: false }

const parseJson = (text: string): Parsed => {
  try {
    return { ok: true, value: JSON.parse(text) }
  } catch {
    return { ok: false }
  }
}

const rawToText = (data: WebSocket.RawData): string =>
  Buffer.isBuffer(data)
    ? data.toString("utf8")
    : Array.isArray(data)
    ? Buffer.concat(data).toString("utf8")
    : Buffer.from(data).toString("utf8")

/** Sends a frame now if the socket is open, and records it. A string is sent verbatim. */
export const sendFrame = (sim: Sim, entry: ConnectionEntry, frame: unknown): Effect.Effect<void> =>
  Effect.suspend(() => {
    if (entry.ws.readyState !== WebSocket.OPEN) return Effect.void
    entry.ws.send(typeof frame === "string" ? frame : JSON.stringify(frame))
    if (!sim.state.traffic.enabled) return Effect.void
    let logged = frame
    if (typeof frame === "string") {
      const parsed = parseJson(frame)
      if (parsed.ok) logged = parsed.value
    }
    return logTraffic(sim, { direction: "out", namespace: entry.namespace, connection: entry.id, frame: logged })
  })

interface OpenChannel {
  readonly cancelled: Deferred.Deferred<void>
  readonly cancellable: boolean
}

const internalError = (defect: unknown): ServerFailure =>
  failure(`Internal simulator error: ${defect instanceof Error ? defect.message : String(defect)}`)

/**
 * Serves one socket until it closes. The socket must have been paused right after the upgrade
 * (so no frame is lost before the listeners are attached); it is resumed here.
 */
export const handleConnection = (sim: Sim, ws: WebSocket, namespace: string): Effect.Effect<void> =>
  Effect.scoped(Effect.gen(function*() {
    const inbox = yield* Mailbox.make<string>()
    const entry = yield* Effect.sync((): ConnectionEntry => {
      const entry: ConnectionEntry = { id: sim.state.nextConnectionId++, namespace, ws, authenticated: false }
      sim.state.connections.set(entry.id, entry)
      ws.on("message", (data) => {
        inbox.unsafeOffer(rawToText(data))
      })
      ws.on("close", () => {
        inbox.unsafeDone(Exit.void)
      })
      ws.on("error", () => {
        // A protocol error on the socket is followed by "close"; nothing else to do.
      })
      if (ws.readyState === WebSocket.CLOSED) inbox.unsafeDone(Exit.void)
      ws.resume()
      return entry
    })
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        sim.state.connections.delete(entry.id)
        if (ws.readyState !== WebSocket.CLOSED) ws.terminate()
      })
    )
    const handlers = yield* FiberSet.make()
    const endpoints = endpointsOf(namespace)
    const domain = domainOfNamespace(namespace)
    const channels = new Map<number, OpenChannel>()
    let warnings = 0
    let refused = false

    const send = (frame: unknown) => sendFrame(sim, entry, frame)
    /** Replies are subject to the `delayReplies` fault. */
    const reply = (frame: unknown) =>
      Effect.suspend(() => {
        const delay = sim.state.faults.delayMs
        return delay !== null && delay > 0 ? Effect.zipRight(Effect.sleep(delay), send(frame)) : send(frame)
      })
    const warn = (kind: string, warning: string) =>
      Effect.suspend(() => {
        if (warnings >= MAX_WARNINGS) return Effect.void
        warnings++
        return send({ type: "communicationWarning", warning, kind })
      })

    const callContext: CallContext = { sim, connection: entry, domain }
    const terminate = Effect.zipRight(Effect.sync(() => ws.terminate()), Effect.never)

    // Reference-server behaviour: unauthenticated sockets are closed after the deadline.
    yield* FiberSet.run(
      handlers,
      Effect.sleep(AUTH_DEADLINE_MS).pipe(
        Effect.zipRight(Effect.sync(() => {
          if (!entry.authenticated) ws.close(1008, "Authentication timed out")
        }))
      )
    )

    const onAuth = (parsed: Parsed) =>
      Effect.gen(function*() {
        // Before authentication, non-JSON and schema-invalid frames are ignored.
        if (!parsed.ok) return
        const auth = decodeAuthPacket(parsed.value)
        if (Either.isLeft(auth)) return
        const refusal = yield* authorize(sim, auth.right)
        if (refusal !== undefined) {
          refused = true
          yield* send({ success: false, error: refusal })
          yield* Effect.sync(() => ws.close(1008, "Authentication failed")) // [inferred] close code
          return
        }
        entry.authenticated = true
        yield* send({ success: true })
      })

    const openChannel = (message: Extract<ClientMessage, { type: "channelCreate" }>) =>
      Effect.gen(function*() {
        const { channelId, endpoint } = message
        if (channels.has(channelId)) {
          return yield* warn("channelAlreadyOpen", `Channel ${channelId} is already open`)
        }
        const cancelled = yield* Deferred.make<void>()
        if (sim.state.faults.hung.has(endpoint)) {
          channels.set(channelId, { cancelled, cancellable: true }) // never answered
          return
        }
        const declared = endpoints.channel.get(endpoint)
        if (declared === undefined) {
          return yield* warn("channelEndpointUnknown", `Channel endpoint "${endpoint}" is not found`)
        }
        const context: ChannelContext = {
          ...callContext,
          cancelled,
          terminate,
          send: (packet) => reply({ type: "channelSend", channelId, message: packet })
        }
        const opened = declared.open(context, message.creationParameter)
        if (Either.isLeft(opened)) {
          return yield* warn(
            "channelCreationParameterTypeError",
            `Invalid creation parameter for channel "${endpoint}": ${opened.left.message}`
          )
        }
        channels.set(channelId, { cancelled, cancellable: declared.cancellable })
        yield* FiberSet.run(
          handlers,
          opened.right.pipe(
            Effect.catchAllDefect((defect) => Effect.fail(internalError(defect))),
            Effect.matchEffect({
              onSuccess: () => reply({ type: "channelClose", channelId }),
              onFailure: ({ error }) => reply({ type: "channelError", channelId, error })
            }),
            Effect.ensuring(Effect.sync(() => channels.delete(channelId)))
          )
        )
      })

    const call = (message: Extract<ClientMessage, { type: "rpcCall" }>) =>
      Effect.gen(function*() {
        const { callId, endpoint } = message
        if (sim.state.faults.hung.has(endpoint)) return // never answered
        const declared = endpoints.rpc.get(endpoint)
        if (declared === undefined) {
          return yield* warn("rpcEndpointUnknown", `RPC endpoint "${endpoint}" is not found`)
        }
        const handled = declared(callContext, message.parameter)
        if (Either.isLeft(handled)) {
          return yield* warn("rpcParameterTypeError", `Invalid parameter for RPC "${endpoint}": ${handled.left.message}`)
        }
        yield* FiberSet.run(
          handlers,
          handled.right.pipe(
            Effect.catchAllDefect((defect) => Effect.fail(internalError(defect))),
            Effect.matchEffect({
              // A void result is an rpcResult without `result`.
              onSuccess: (result) =>
                reply(result === undefined ? { type: "rpcResult", callId } : { type: "rpcResult", callId, result }),
              onFailure: ({ error }) => reply({ type: "rpcError", callId, error })
            })
          )
        )
      })

    const dispatch = (message: ClientMessage): Effect.Effect<void> => {
      switch (message.type) {
        case "keepAlive": // `hang("keepAlive")` simulates a peer that stopped answering pings
          if (sim.state.faults.hung.has("keepAlive")) return Effect.void
          // Forked: a delayed reply must not hold up the frames behind it.
          return Effect.asVoid(FiberSet.run(handlers, reply({ type: "keepAliveAck" })))
        case "channelCreate":
          return openChannel(message)
        case "channelSend": {
          const open = channels.get(message.channelId)
          if (open === undefined) return warn("channelUnknown", `Channel ${message.channelId} is not open`)
          const packet = message.message
          const isCancel = typeof packet === "object" && packet !== null && "type" in packet &&
            packet.type === "cancel"
          return open.cancellable && isCancel
            ? Deferred.succeed(open.cancelled, undefined)
            : warn("channelMessageTypeError", `Unexpected message on channel ${message.channelId}`)
        }
        case "rpcCall":
          return call(message)
        case "signalSubscribe":
          return warn("signalEndpointUnknown", `Signal endpoint "${message.endpoint}" is not found`)
        case "writableSignalSubscribe":
          return warn("writableSignalEndpointUnknown", `Writable signal endpoint "${message.endpoint}" is not found`)
        case "signalUnsubscribe":
          return warn("signalUnknown", `Signal subscription ${message.subscribeId} is not open`)
        case "writableSignalUnsubscribe":
        case "writableSignalUpdate":
          return warn("writableSignalUnknown", `Writable signal subscription ${message.subscribeId} is not open`)
        case "channelAck": // never used by clients; ignored
        case "communicationWarning":
          return Effect.void
      }
    }

    const onFrame = (text: string) =>
      Effect.gen(function*() {
        const parsed = parseJson(text)
        if (sim.state.traffic.enabled) {
          yield* logTraffic(sim, {
            direction: "in",
            namespace,
            connection: entry.id,
            frame: parsed.ok ? redactPasskey(parsed.value) : text
          })
        }
        if (refused) return
        if (!entry.authenticated) return yield* onAuth(parsed)
        if (!parsed.ok) return yield* warn("unknown", "Received a frame that is not valid JSON") // [inferred]
        const message = decodeClientMessage(parsed.value)
        if (Either.isLeft(message)) return yield* warn("unknown", `Received an invalid message: ${message.left.message}`)
        return yield* dispatch(message.right)
      })

    yield* Stream.runForEach(Mailbox.toStream(inbox), onFrame)
  }))

/** The traffic log is public: an auth packet's passkey is logged as `<redacted>`. */
const redactPasskey = (frame: unknown): unknown =>
  typeof frame === "object" && frame !== null && "clientPasskey" in frame
    ? { ...frame, clientPasskey: "<redacted>" }
    : frame
