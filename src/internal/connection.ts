/**
 * The state of one authenticated socket: what is pending on it (calls and channels),
 * how frames are written (corked per tick), and how each frame the server sends is routed.
 *
 * Routing rules:
 * - A frame of a *known* type with a malformed body fails the call or channel it names with a
 *   `ProtocolError` (if it names one), and is reported to the server with a `communicationWarning`
 *   (at most 5 per connection, like the official client).
 * - A frame of an *unknown* type is from a newer protocol: logged at debug level and ignored.
 * - Late frames for calls and channels this side abandoned are expected and ignored quietly.
 * - Server text that reaches an error or a log line is bounded and scrubbed of the passkey.
 *
 * @internal
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Mailbox from "effect/Mailbox"
import * as Option from "effect/Option"
import type { WebSocket as WS } from "ws"
import { ConnectionError, type LMStudioError, ProtocolError } from "../LMStudioError.js"
import {
  type ClientMessage,
  commonMessage,
  decodeServerMessage,
  type ServerMessage,
  serverMessageTypes
} from "./protocol/messages.js"
import { type ErrorContext, fromServerError } from "./serverErrors.js"
import type { ServerText } from "./serverText.js"

const MAX_WARNINGS = 5

/** How many abandoned call or channel ids are remembered, so late frames for them stay quiet. */
const MAX_ABANDONED = 4_096

/** Options of one channel (see `Port.openChannel`). */
export interface ChannelOptions {
  /** Sent when the channel is closed by this side before the server ended it. */
  readonly cancelMessage?: unknown
  /** What the caller knew, for the errors of this channel. */
  readonly context?: Partial<ErrorContext>
  /** Sees every inbound packet synchronously, as it arrives, before anyone consumes it. */
  readonly onPacket?: (packet: unknown) => void
  /**
   * The packet `type`s the consumer understands. A packet whose `type` is another string is from
   * a newer server: it is logged at debug level and dropped. Absent: every packet is delivered.
   */
  readonly packetTypes?: ReadonlySet<string>
  /**
   * Coalescing of idempotent packets (e.g. progress), so that a slow consumer never makes the
   * channel's queue grow without bound: a packet for which this returns a kind replaces a packet
   * of the same kind that is still queued (latest wins, in the queued one's place); every other
   * packet keeps its order. Applies to object packets only.
   */
  readonly coalesce?: (packet: object) => string | undefined
  /**
   * Reads the channel synchronously instead of queuing it: `packet` gets each inbound packet as
   * it arrives (after the `packetTypes` filter), `end` the channel's end (closed by the server,
   * failed, or the socket dropped), once. The channel's `packets` then stays empty. Neither may
   * throw: they run inside the socket's listener.
   */
  readonly reader?: ChannelReader
}

/** A synchronous consumer of a channel (see `ChannelOptions.reader`). */
export interface ChannelReader {
  readonly packet: (packet: unknown) => void
  readonly end: (exit: Exit.Exit<void, LMStudioError>) => void
}

interface PendingCall {
  readonly context: ErrorContext
  readonly resume: (exit: Exit.Exit<unknown, LMStudioError>) => void
}

/** An open channel's inbound side: its queue and what it does with each packet. */
export class ChannelState {
  /** Packets offered to the mailbox so far; with its size, tells which are still queued. */
  private offered = 0
  /** The newest packet of each coalesced kind and its offer index. */
  private readonly latest = new Map<string, { readonly packet: Record<string, unknown>; readonly index: number }>()

  constructor(
    readonly context: ErrorContext,
    /** The queue of the packets, `undefined` when a synchronous `reader` takes them. */
    readonly mailbox: Mailbox.Mailbox<unknown, LMStudioError> | undefined,
    private readonly options: ChannelOptions | undefined
  ) {}

  /** Delivers one packet from the server; returns a log effect when the packet is dropped. */
  receive(packet: unknown, server: ServerText): Effect.Effect<void> | void {
    const options = this.options
    if (options === undefined) {
      this.offer(packet)
      return
    }
    if (options.packetTypes !== undefined) {
      const type = (packet as { type?: unknown } | null)?.type
      if (typeof type === "string" && !options.packetTypes.has(type)) {
        return Effect.logDebug(
          `Ignoring a "${server.text(type, 100)}" packet on "${this.context.endpoint}": ` +
            "a packet type this client does not know (probably from a newer LM Studio)."
        ).pipe(Effect.annotateLogs({ module: "lmstudio-effect/port" }))
      }
    }
    options.onPacket?.(packet)
    if (options.coalesce !== undefined && typeof packet === "object" && packet !== null && !Array.isArray(packet)) {
      const kind = options.coalesce(packet)
      if (kind !== undefined) return this.coalesce(kind, packet as Record<string, unknown>)
    }
    this.offer(packet)
  }

  /** Queues a packet of this side's own behind the inbound ones. */
  offer(packet: unknown): void {
    const reader = this.options?.reader
    if (reader !== undefined) {
      if (!this.ended) reader.packet(packet)
      return
    }
    if (this.mailbox?.unsafeOffer(packet) === true) this.offered++
  }

  private ended = false

  /** The channel ended (by the server, a failure, or the socket): tells its consumer, once. */
  end(exit: Exit.Exit<void, LMStudioError>): void {
    if (this.ended) return
    this.ended = true
    this.mailbox?.unsafeDone(exit)
    this.options?.reader?.end(exit)
  }

  private coalesce(kind: string, packet: Record<string, unknown>): void {
    const previous = this.latest.get(kind)
    if (previous !== undefined) {
      const queued = this.mailbox === undefined ? 0 : Option.getOrElse(this.mailbox.unsafeSize(), () => 0)
      // Taken packets leave the queue in order: the first `offered - queued` are gone.
      if (previous.index >= this.offered - queued) {
        // Still queued, and nobody downstream has seen it: it becomes the new packet in place.
        for (const key of Object.keys(previous.packet)) if (!Object.hasOwn(packet, key)) delete previous.packet[key]
        Object.assign(previous.packet, packet)
        return
      }
    }
    this.latest.set(kind, { packet, index: this.offered })
    this.offer(packet)
  }
}

/** A set of ids that forgets its oldest entries beyond `MAX_ABANDONED`. */
class RecentIds {
  private readonly ids = new Set<number>()
  add(id: number): void {
    this.ids.add(id)
    if (this.ids.size > MAX_ABANDONED) this.ids.delete(this.ids.values().next().value as number)
  }
  has(id: number): boolean {
    return this.ids.has(id)
  }
  delete(id: number): boolean {
    return this.ids.delete(id)
  }
  clear(): void {
    this.ids.clear()
  }
}

/** The state of one socket: what is pending on it and how to write to it. */
export class Connection {
  nextId = 0
  warnings = 0
  closed: ConnectionError | undefined = undefined
  ws: WS | undefined = undefined
  pingAck: Deferred.Deferred<void> | undefined = undefined
  readonly calls = new Map<number, PendingCall>()
  readonly channels = new Map<number, ChannelState>()
  /** Calls this side gave up on (timeout, interruption): their late replies are expected. */
  readonly abandonedCalls = new RecentIds()
  /** Channels this side stopped listening to before the server ended them: their late frames are expected. */
  readonly leftChannels = new RecentIds()

  constructor(readonly url: string, readonly server: ServerText) {}

  /** Whether frames can still be written (the server has not started closing the socket). */
  isOpen(): boolean {
    return this.closed === undefined && this.ws !== undefined && this.ws.readyState === 1
  }

  /** Sends one frame at once; fails (never waits) when the socket is gone. */
  send(message: ClientMessage): Effect.Effect<void, ConnectionError> {
    return Effect.suspend(() => {
      const error = this.trySend(message)
      return error === undefined ? Effect.void : Effect.fail(error)
    })
  }

  /** Synchronous send: the error, or `undefined` when the frame went out. */
  trySend(message: ClientMessage): ConnectionError | undefined {
    const ws = this.ws
    if (this.closed !== undefined) return this.closed
    if (ws === undefined || ws.readyState !== 1) {
      return new ConnectionError({ reason: "Closed", url: this.url, detail: "The socket is not open." })
    }
    try {
      this.corkUntilNextTick(ws)
      ws.send(JSON.stringify(message))
      return undefined
    } catch (cause) {
      return new ConnectionError({ reason: "Closed", url: this.url, detail: "The frame could not be sent.", cause })
    }
  }

  /** Frames sent since the last tick, and the socket corked for them, if any. */
  private burst = 0
  private corkedSocket: { uncork(): void } | undefined = undefined

  /**
   * When several frames are sent in the same tick, all but the first leave in one write: the
   * TCP socket is corked until the next tick (a system call per frame is the largest cost of many
   * concurrent calls). The first frame of a tick goes out at once, so a lone call waits for
   * nothing. `ws` (8.x) keeps its socket in `_socket`; without it, frames are written one by one.
   */
  private corkUntilNextTick(ws: WS): void {
    if (this.burst++ === 0) {
      process.nextTick(this.endBurst)
      return
    }
    if (this.corkedSocket !== undefined) return
    const socket = (ws as unknown as { readonly _socket?: { cork(): void; uncork(): void } })._socket
    if (socket === undefined) return
    socket.cork()
    this.corkedSocket = socket
  }

  private readonly endBurst = (): void => {
    this.burst = 0
    const socket = this.corkedSocket
    this.corkedSocket = undefined
    socket?.uncork()
  }

  /** Reports a malformed or unexpected frame to the server, like the official client. */
  warn(warning: string): void {
    if (this.warnings >= MAX_WARNINGS || this.closed !== undefined) return
    this.warnings++
    this.trySend({ type: "communicationWarning", warning })
  }

  /** Fails everything pending on this socket with the same error. */
  failAll(error: ConnectionError): void {
    if (this.closed !== undefined) return
    this.closed = error
    const failure = Exit.fail(error)
    for (const call of this.calls.values()) call.resume(failure)
    for (const channel of this.channels.values()) channel.end(failure)
    this.calls.clear()
    this.channels.clear()
    this.leftChannels.clear()
    this.abandonedCalls.clear()
  }

  /** Forgets a call its caller gave up on; a late reply to it will be expected. */
  abandonCall(callId: number): void {
    if (this.calls.delete(callId)) this.abandonedCalls.add(callId)
  }

  /**
   * Routes one parsed frame to the call or channel it belongs to. Never throws:
   * anything unexpected becomes a `ProtocolError` for the owner it names and a warning.
   */
  receive(json: unknown): Effect.Effect<void> | void {
    try {
      return this.dispatch(json)
    } catch (defect) {
      return this.malformed(json, `the frame could not be handled (${this.server.text(String(defect), 200)})`)
    }
  }

  private dispatch(json: unknown): Effect.Effect<void> | void {
    let message = commonMessage(json)
    if (message === undefined) {
      const decoded = decodeServerMessage(json)
      if (Either.isLeft(decoded)) return this.undecodable(json)
      message = decoded.right
    }
    return this.route(message)
  }

  private route(message: ServerMessage): Effect.Effect<void> | void {
    switch (message.type) {
      case "rpcResult":
      case "rpcError": {
        const call = this.calls.get(message.callId)
        if (call === undefined) {
          if (this.abandonedCalls.delete(message.callId)) return // the caller gave up; the server had not
          return this.warn(`Received ${message.type} for unknown callId ${message.callId}`)
        }
        this.calls.delete(message.callId)
        return call.resume(
          message.type === "rpcResult"
            ? Exit.succeed(message.result)
            : Exit.fail(fromServerError(message.error, call.context, this.server))
        )
      }
      case "channelSend": {
        const channel = this.channels.get(message.channelId)
        if (channel === undefined) {
          if (this.leftChannels.has(message.channelId)) return // we stopped listening; the server has not yet
          return this.warn(`Received channelSend for unknown channelId ${message.channelId}`)
        }
        return channel.receive(message.message, this.server)
      }
      case "channelClose":
      case "channelError": {
        const channel = this.channels.get(message.channelId)
        if (channel === undefined) {
          if (this.leftChannels.delete(message.channelId)) return // the end of a channel we already left
          return this.warn(`Received ${message.type} for unknown channelId ${message.channelId}`)
        }
        this.channels.delete(message.channelId)
        channel.end(
          message.type === "channelClose"
            ? Exit.void
            : Exit.fail(fromServerError(message.error, channel.context, this.server))
        )
        return
      }
      case "signalUpdate":
      case "writableSignalUpdate":
      case "signalError":
      case "writableSignalError":
        return // this client subscribes to no signal (no namespace declares one); the official client drops these too
      case "keepAliveAck": {
        const ack = this.pingAck
        this.pingAck = undefined
        if (ack !== undefined) Deferred.unsafeDone(ack, Exit.void)
        return
      }
      case "communicationWarning":
        return this.log("Warning", `LM Studio reported a communication problem: ${this.server.text(message.warning)}`)
      case "channelAck":
        return // acknowledgements are never awaited by this client
    }
  }

  /** A frame the schema rejected: from a newer protocol (ignored), or malformed. */
  private undecodable(json: unknown): Effect.Effect<void> {
    const type = (json as { type?: unknown } | null)?.type
    if (typeof type === "string" && !serverMessageTypes.has(type)) {
      return this.log(
        "Debug",
        `Ignoring a "${this.server.text(type, 100)}" message: a message type this client does not know ` +
          "(probably from a newer LM Studio)."
      )
    }
    return this.malformed(json, `unexpected message shape: ${this.server.preview(json)}`)
  }

  /** A frame that did not decode: fail its owner if it names one, otherwise just report it. */
  malformed(json: unknown, detail: string): Effect.Effect<void> {
    this.warn(detail)
    if (typeof json === "object" && json !== null) {
      const record = json as Record<string, unknown>
      if (typeof record.callId === "number") {
        const call = this.calls.get(record.callId)
        if (call !== undefined) {
          this.calls.delete(record.callId)
          call.resume(Exit.fail(protocolError(call.context, detail)))
        }
      } else if (typeof record.channelId === "number") {
        const channel = this.channels.get(record.channelId)
        if (channel !== undefined) {
          this.channels.delete(record.channelId)
          channel.end(Exit.fail(protocolError(channel.context, detail)))
        }
      }
    }
    return this.log("Warning", `Ignoring a malformed frame from LM Studio: ${detail}`)
  }

  private log(level: "Debug" | "Warning", message: string): Effect.Effect<void> {
    return (level === "Debug" ? Effect.logDebug(message) : Effect.logWarning(message)).pipe(
      Effect.annotateLogs({ module: "lmstudio-effect/port", url: this.url })
    )
  }
}

const protocolError = (context: ErrorContext, detail: string): ProtocolError =>
  new ProtocolError({ detail, endpoint: context.endpoint })
