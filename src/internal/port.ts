/**
 * One authenticated WebSocket per namespace (`/llm`, `/embedding`, `/system`), multiplexing RPCs,
 * channels and signal subscriptions by id.
 *
 * - The socket opens lazily on first use; concurrent first calls share one connect.
 * - A dropped socket fails every pending call, channel and subscription at once with a
 *   `ConnectionError`; the next call reconnects with fresh ids (ids are per connection).
 * - Frames that are not JSON or have the wrong shape never crash the port: they are logged and
 *   reported back with a `communicationWarning` (at most 5 per connection, like the official
 *   client); a malformed frame that names a pending call or channel fails that one with a
 *   `ProtocolError`.
 * - Closing the port's scope fails what is pending with `ClientClosed`, closes the sockets and
 *   interrupts every background fiber.
 *
 * @internal
 */
import * as Socket from "@effect/platform/Socket"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as Mailbox from "effect/Mailbox"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { WebSocket as WS } from "ws"
import { AuthenticationError, ConnectionError, type LMStudioError, ProtocolError } from "../LMStudioError.js"
import type { Credentials } from "./credentials.js"
import { type ClientMessage, decodeAuthResult, decodeServerMessage, type ServerMessage } from "./protocol/messages.js"
import { applyPatches } from "./protocol/patches.js"
import { type ErrorContext, fromServerError } from "./serverErrors.js"
import { makeWebSocket } from "./webSocket.js"

/** Keep-alive settings: a `keepAlive` every `interval`; no `keepAliveAck` within `timeout` = dead. */
export interface KeepAlive {
  readonly interval: Duration.Duration
  readonly timeout: Duration.Duration
}

export interface PortOptions {
  /** Full URL of the namespace socket, e.g. `ws://127.0.0.1:1234/llm`. */
  readonly url: string
  readonly credentials: Credentials
  readonly openTimeout: Duration.Duration
  readonly keepAlive: Option.Option<KeepAlive>
}

/** A channel's inbound packets and a way to send packets on it. */
export interface Channel {
  readonly id: number
  /** Inbound packets in order; ends on `channelClose`, fails on `channelError` or disconnect. */
  readonly packets: Mailbox.ReadonlyMailbox<unknown, LMStudioError>
  readonly send: (message: unknown) => Effect.Effect<void, ConnectionError>
  /** `false` once the server ended the channel or the connection dropped. */
  readonly isOpen: () => boolean
  /** Queues a packet of the caller's own behind the inbound ones (e.g. a timeout marker). */
  readonly inject: (packet: unknown) => void
}

export interface ChannelOptions {
  /** Sent when the channel is closed by this side before the server ended it. */
  readonly cancelMessage?: unknown
  /** What the caller knew, for the errors of this channel. */
  readonly context?: Partial<ErrorContext>
  /** Sees every inbound packet synchronously, as it arrives, before anyone consumes it. */
  readonly onPacket?: (packet: unknown) => void
}

export interface Port {
  readonly url: string
  /** Opens and authenticates the socket if it is not open yet. */
  readonly connect: Effect.Effect<void, LMStudioError>
  /** One RPC round trip; the raw `result` (`undefined` when absent). */
  readonly call: (
    endpoint: string,
    parameter?: unknown,
    context?: Partial<ErrorContext>
  ) => Effect.Effect<unknown, LMStudioError>
  /**
   * Opens a channel for the life of the scope. When the scope closes before the server ended the
   * channel, `cancelMessage` (if given) is sent so the server stops the work.
   */
  readonly openChannel: (
    endpoint: string,
    creationParameter: unknown,
    options?: ChannelOptions
  ) => Effect.Effect<Channel, LMStudioError, Scope.Scope>
  /**
   * Like `openChannel` without a scope: the caller must run `close` (which sends `cancelMessage`
   * if the server has not ended the channel).
   */
  readonly openChannelUnscoped: (
    endpoint: string,
    creationParameter: unknown,
    options?: ChannelOptions
  ) => Effect.Effect<Channel & { readonly close: Effect.Effect<void> }, LMStudioError>
  /** A signal's values (first update = the whole value); unsubscribes when the stream ends. */
  readonly subscribe: (endpoint: string, creationParameter?: unknown) => Stream.Stream<unknown, LMStudioError>
}

interface PendingCall {
  readonly context: ErrorContext
  readonly resume: (exit: Exit.Exit<unknown, LMStudioError>) => void
}

interface OpenChannel {
  readonly context: ErrorContext
  readonly mailbox: Mailbox.Mailbox<unknown, LMStudioError>
  readonly onPacket?: ((packet: unknown) => void) | undefined
}

interface Subscription {
  readonly context: ErrorContext
  readonly mailbox: Mailbox.Mailbox<unknown, LMStudioError>
  /** The signal's current value, rebuilt from the patches received so far. */
  value: unknown
}

const MAX_WARNINGS = 5

/** The state of one socket: what is pending on it and how to write to it. */
class Connection {
  nextId = 0
  nextSubscribeId = 0
  warnings = 0
  closed: ConnectionError | undefined = undefined
  ws: WS | undefined = undefined
  pingAck: Deferred.Deferred<void> | undefined = undefined
  readonly calls = new Map<number, PendingCall>()
  readonly channels = new Map<number, OpenChannel>()
  readonly subscriptions = new Map<number, Subscription>()
  /** Channels this side stopped listening to before the server ended them: their late frames are expected. */
  readonly leftChannels = new Set<number>()

  constructor(readonly url: string) {}

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
      return new ConnectionError({ reason: "Closed", url: this.url, detail: String(cause) })
    }
  }

  /** Frames sent since the last tick, and the socket corked for them, if any. */
  private burst = 0
  private corkedSocket: { uncork(): void } | undefined = undefined

  /**
   * When several frames are sent in the same tick, all but the first leave in one write: the
   * TCP socket is corked until the next tick (a system call per frame is the largest cost of many
   * concurrent calls). The first frame of a tick goes out at once, so a lone call waits for
   * nothing. `ws` keeps its socket in `_socket`; without it, frames are written one by one.
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
    for (const channel of this.channels.values()) channel.mailbox.unsafeDone(failure)
    for (const subscription of this.subscriptions.values()) subscription.mailbox.unsafeDone(failure)
    this.calls.clear()
    this.channels.clear()
    this.subscriptions.clear()
    this.leftChannels.clear()
  }

  protocolError(context: ErrorContext | undefined, detail: string): ProtocolError {
    return new ProtocolError({ detail, ...(context ? { endpoint: context.endpoint } : {}) })
  }

  /** Routes one parsed frame to the call, channel or subscription it belongs to. */
  dispatch(json: unknown): Effect.Effect<void> | void {
    let message = commonMessage(json)
    if (message === undefined) {
      const decoded = decodeServerMessage(json)
      if (Either.isLeft(decoded)) return this.malformed(json, `unexpected message shape: ${truncate(JSON.stringify(json))}`)
      message = decoded.right
    }
    switch (message.type) {
      case "rpcResult":
      case "rpcError": {
        const call = this.calls.get(message.callId)
        if (call === undefined) return this.warn(`Received ${message.type} for unknown callId ${message.callId}`)
        this.calls.delete(message.callId)
        return call.resume(
          message.type === "rpcResult"
            ? Exit.succeed(message.result)
            : Exit.fail(fromServerError(message.error, call.context))
        )
      }
      case "channelSend": {
        const channel = this.channels.get(message.channelId)
        if (channel === undefined) {
          if (this.leftChannels.has(message.channelId)) return // we stopped listening; the server has not yet
          return this.warn(`Received channelSend for unknown channelId ${message.channelId}`)
        }
        channel.onPacket?.(message.message)
        channel.mailbox.unsafeOffer(message.message)
        return
      }
      case "channelClose":
      case "channelError": {
        const channel = this.channels.get(message.channelId)
        if (channel === undefined) {
          if (this.leftChannels.delete(message.channelId)) return // the end of a channel we already left
          return this.warn(`Received ${message.type} for unknown channelId ${message.channelId}`)
        }
        this.channels.delete(message.channelId)
        channel.mailbox.unsafeDone(
          message.type === "channelClose" ? Exit.void : Exit.fail(fromServerError(message.error, channel.context))
        )
        return
      }
      case "signalUpdate":
      case "writableSignalUpdate": {
        const subscription = this.subscriptions.get(message.subscribeId)
        if (subscription === undefined) return // the official client drops these silently
        subscription.value = applyPatches(subscription.value, message.patches)
        subscription.mailbox.unsafeOffer(subscription.value)
        return
      }
      case "signalError":
      case "writableSignalError": {
        const subscription = this.subscriptions.get(message.subscribeId)
        if (subscription === undefined) return
        this.subscriptions.delete(message.subscribeId)
        subscription.mailbox.unsafeDone(Exit.fail(fromServerError(message.error, subscription.context)))
        return
      }
      case "keepAliveAck": {
        const ack = this.pingAck
        this.pingAck = undefined
        if (ack !== undefined) Deferred.unsafeDone(ack, Exit.void)
        return
      }
      case "communicationWarning":
        return Effect.logWarning(`LM Studio reported a communication problem: ${message.warning}`).pipe(
          Effect.annotateLogs({ module: "lmstudio-effect/port", url: this.url })
        )
      case "channelAck":
        return // acknowledgements are never awaited by this client
    }
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
          call.resume(Exit.fail(this.protocolError(call.context, detail)))
        }
      } else if (typeof record.channelId === "number") {
        const channel = this.channels.get(record.channelId)
        if (channel !== undefined) {
          this.channels.delete(record.channelId)
          channel.mailbox.unsafeDone(Exit.fail(this.protocolError(channel.context, detail)))
        }
      }
    }
    return Effect.logWarning(`Ignoring a malformed frame from LM Studio: ${detail}`).pipe(
      Effect.annotateLogs({ module: "lmstudio-effect/port", url: this.url })
    )
  }
}

/**
 * The three frames that make up nearly all traffic (results, channel packets, channel ends),
 * checked by hand against the same rules as the `ServerMessage` schema; anything else, and
 * anything that does not pass, goes through the schema.
 */
const commonMessage = (json: unknown): ServerMessage | undefined => {
  if (typeof json !== "object" || json === null) return undefined
  const frame = json as Record<string, unknown>
  switch (frame.type) {
    case "rpcResult":
      return Number.isInteger(frame.callId) ? (frame as ServerMessage) : undefined
    case "channelSend":
      return Number.isInteger(frame.channelId) && "message" in frame &&
          (frame.ackId === undefined || Number.isInteger(frame.ackId))
        ? (frame as ServerMessage)
        : undefined
    case "channelClose":
      return Number.isInteger(frame.channelId) ? (frame as ServerMessage) : undefined
    default:
      return undefined
  }
}

const truncate = (text: string | undefined, max = 200) =>
  text === undefined ? "undefined" : text.length > max ? `${text.slice(0, max)}…` : text

const frameText = (data: string | Uint8Array): string =>
  typeof data === "string" ? data : new TextDecoder().decode(data)

/**
 * Makes a port. Nothing connects until the first call. The port lives as long as the scope.
 */
export const make = Effect.fnUntraced(function*(options: PortOptions) {
  // A scope of the port's own, forked now: connections made later live in it, so they close
  // when the owner's scope reaches the port, after everything the owner registered since.
  const portScope = yield* Scope.fork(yield* Effect.scope, ExecutionStrategy.sequential)
  const { url } = options
  let connecting: Deferred.Deferred<Connection, LMStudioError> | undefined
  let current: Connection | undefined
  let portClosed = false

  const closedByClient = () => new ConnectionError({ reason: "ClientClosed", url })

  yield* Scope.addFinalizer(
    portScope,
    Effect.sync(() => {
      portClosed = true
      if (connecting !== undefined) Deferred.unsafeDone(connecting, Exit.fail(closedByClient()))
      current?.failAll(closedByClient())
    })
  )

  /** Opens the socket, authenticates, and keeps reading until the socket ends. */
  const connect = Effect.gen(function*() {
    const connectionScope = yield* Scope.fork(portScope, ExecutionStrategy.sequential)
    const connection = new Connection(url)
    const authenticated = yield* Deferred.make<void, LMStudioError>()

    // Capture the raw `ws` so that writes are synchronous and a dead peer can be terminated.
    const constructor = (target: string, protocols?: string | Array<string>): globalThis.WebSocket => {
      const ws = makeWebSocket(target, protocols)
      connection.ws = ws
      return ws as unknown as globalThis.WebSocket
    }
    const socket = yield* Socket.makeWebSocket(url, {
      openTimeout: options.openTimeout,
      closeCodeIsError: () => true // any close is a disconnect, including 1000 and 1006 (style.md c-2.1)
    }).pipe(Effect.provideService(Socket.WebSocketConstructor, constructor))

    let authReplied = false
    const onFrame = (data: string | Uint8Array): Effect.Effect<void> | void => {
      let json: unknown
      try {
        json = JSON.parse(frameText(data))
      } catch {
        return connection.malformed(undefined, `not JSON: ${truncate(frameText(data))}`)
      }
      if (!authReplied) return onAuthReply(json)
      return connection.dispatch(json)
    }
    const onAuthReply = (json: unknown): void => {
      authReplied = true
      const reply = decodeAuthResult(json)
      if (Either.isLeft(reply)) {
        Deferred.unsafeDone(
          authenticated,
          Exit.fail(new ProtocolError({ detail: `unexpected reply to authentication: ${truncate(JSON.stringify(json))}` }))
        )
      } else if (reply.right.success) {
        Deferred.unsafeDone(authenticated, Exit.void)
      } else {
        Deferred.unsafeDone(
          authenticated,
          Exit.fail(new AuthenticationError({ url, serverReason: reply.right.error ?? "no reason given" }))
        )
      }
    }

    const sendAuth = Effect.sync(() => {
      connection.ws?.send(JSON.stringify({
        authVersion: 1,
        clientIdentifier: options.credentials.clientIdentifier,
        clientPasskey: Redacted.value(options.credentials.clientPasskey)
      }))
    })

    const toConnectionError = (error: Socket.SocketError): ConnectionError => {
      if (error.reason === "OpenTimeout") return new ConnectionError({ reason: "OpenTimeout", url })
      if (error.reason === "Open") {
        return new ConnectionError({ reason: "Unreachable", url, detail: describeCause(error.cause) })
      }
      const code = error.reason === "Close" ? ` (close code ${error.code})` : ""
      return new ConnectionError({ reason: "Closed", url, detail: `The socket closed${code}.` })
    }

    const run = yield* socket.runRaw(onFrame, { onOpen: sendAuth }).pipe(
      Effect.catchAllDefect((defect) => Effect.fail(new Socket.SocketGenericError({ reason: "Read", cause: defect }))),
      Effect.matchEffect({
        onFailure: (error) => Effect.succeed(toConnectionError(error)),
        onSuccess: () => Effect.succeed(new ConnectionError({ reason: "Closed", url }))
      }),
      Effect.flatMap((error) =>
        Effect.sync(() => {
          const failure = portClosed ? closedByClient() : error
          connection.failAll(failure)
          Deferred.unsafeDone(authenticated, Exit.fail(failure))
          if (current === connection) current = undefined
        })
      ),
      Effect.ensuring(Effect.sync(() => connection.ws?.terminate())),
      Effect.interruptible,
      Effect.forkIn(connectionScope)
    )

    yield* Deferred.await(authenticated).pipe(
      Effect.timeoutFail({
        duration: options.openTimeout,
        onTimeout: () => new ConnectionError({ reason: "OpenTimeout", url, detail: "The server did not answer the authentication." })
      }),
      Effect.onError(() => Fiber.interrupt(run).pipe(Effect.zipRight(Scope.close(connectionScope, Exit.void))))
    )

    if (Option.isSome(options.keepAlive)) {
      yield* keepAliveLoop(connection, options.keepAlive.value).pipe(Effect.interruptible, Effect.forkIn(connectionScope))
    }
    // When the socket ends, release everything that belonged to it.
    yield* Fiber.await(run).pipe(
      Effect.zipRight(Scope.close(connectionScope, Exit.void)),
      Effect.interruptible,
      Effect.forkIn(portScope)
    )
    return connection
  })

  /** The open connection, or a shared connect in progress, or a new connect. */
  const connection: Effect.Effect<Connection, LMStudioError> = Effect.suspend(() => {
    if (portClosed) return Effect.fail(closedByClient())
    if (current !== undefined && current.closed === undefined) return Effect.succeed(current)
    if (connecting !== undefined) return Deferred.await(connecting)
    const deferred = Deferred.unsafeMake<Connection, LMStudioError>(FiberId.none)
    connecting = deferred
    return connect.pipe(
      // onExit also runs when the port closes mid-connect, so no caller is left waiting.
      Effect.onExit((exit) =>
        Effect.sync(() => {
          connecting = undefined
          if (Exit.isSuccess(exit)) current = exit.value
          Deferred.unsafeDone(deferred, Exit.isInterrupted(exit) ? Exit.fail(closedByClient()) : exit)
        })
      ),
      Effect.forkIn(portScope),
      Effect.zipRight(Deferred.await(deferred))
    )
  })

  const call: Port["call"] = (endpoint, parameter, context) =>
    Effect.flatMap(connection, (conn) =>
      Effect.async<unknown, LMStudioError>((resume) => {
        const callId = conn.nextId++
        conn.calls.set(callId, { context: { endpoint, ...context }, resume })
        const error = conn.trySend(
          parameter === undefined
            ? { type: "rpcCall", endpoint, callId }
            : { type: "rpcCall", endpoint, callId, parameter }
        )
        if (error !== undefined) {
          conn.calls.delete(callId)
          resume(Effect.fail(error))
        }
        return Effect.sync(() => conn.calls.delete(callId))
      })
    )

  const openChannelUnscoped: Port["openChannelUnscoped"] = (endpoint, creationParameter, channelOptions) =>
    // Registration and the create frame happen in one synchronous step once connected, so an
    // interruption can never leave a channel half made.
    Effect.flatMap(Effect.zip(connection, Mailbox.make<unknown, LMStudioError>()), ([conn, mailbox]) =>
      Effect.suspend(() => {
        const channelId = conn.nextId++
        conn.channels.set(channelId, {
          context: { endpoint, ...channelOptions?.context },
          mailbox,
          onPacket: channelOptions?.onPacket
        })
        const error = conn.trySend(
          creationParameter === undefined
            ? { type: "channelCreate", endpoint, channelId }
            : { type: "channelCreate", endpoint, channelId, creationParameter }
        )
        if (error !== undefined) {
          conn.channels.delete(channelId)
          return Effect.fail(error)
        }
        const channel: Channel & { readonly close: Effect.Effect<void> } = {
          id: channelId,
          packets: mailbox,
          send: (message: unknown) => conn.send({ type: "channelSend", channelId, message }),
          isOpen: () => conn.channels.has(channelId),
          inject: (packet: unknown) => {
            mailbox.unsafeOffer(packet)
          },
          close: Effect.suspend(() => {
            const stillOpen = conn.channels.delete(channelId)
            if (stillOpen) conn.leftChannels.add(channelId)
            if (!stillOpen || channelOptions?.cancelMessage === undefined) return Effect.void
            return Effect.ignore(conn.send({ type: "channelSend", channelId, message: channelOptions.cancelMessage }))
          })
        }
        return Effect.succeed(channel)
      }))

  const openChannel: Port["openChannel"] = (endpoint, creationParameter, channelOptions) =>
    Effect.acquireRelease(openChannelUnscoped(endpoint, creationParameter, channelOptions), (channel) => channel.close)

  const subscribe: Port["subscribe"] = (endpoint, creationParameter) =>
    Stream.unwrapScoped(Effect.gen(function*() {
      const conn = yield* connection
      const mailbox = yield* Mailbox.make<unknown, LMStudioError>()
      const subscribeId = conn.nextSubscribeId++
      conn.subscriptions.set(subscribeId, { context: { endpoint }, mailbox, value: undefined })
      yield* Effect.addFinalizer(() =>
        conn.subscriptions.delete(subscribeId)
          ? Effect.ignore(conn.send({ type: "signalUnsubscribe", subscribeId }))
          : Effect.void
      )
      yield* conn.send(
        creationParameter === undefined
          ? { type: "signalSubscribe", endpoint, subscribeId }
          : { type: "signalSubscribe", endpoint, subscribeId, creationParameter }
      )
      return Mailbox.toStream(mailbox)
    }))

  return { url, connect: Effect.asVoid(connection), call, openChannel, openChannelUnscoped, subscribe } satisfies Port
})

/** Pings every `interval`; if an ack does not come back within `timeout`, the peer is dead. */
const keepAliveLoop = (connection: Connection, keepAlive: KeepAlive) =>
  Effect.gen(function*() {
    while (connection.closed === undefined) {
      yield* Effect.sleep(keepAlive.interval)
      const ack = yield* Deferred.make<void>()
      connection.pingAck = ack
      yield* Effect.ignore(connection.send({ type: "keepAlive" }))
      const answered = yield* Deferred.await(ack).pipe(Effect.timeoutOption(keepAlive.timeout))
      if (Option.isNone(answered)) {
        connection.failAll(
          new ConnectionError({
            reason: "KeepAliveTimeout",
            url: connection.url,
            detail: `No keep-alive answer within ${Duration.format(keepAlive.timeout)}.`
          })
        )
        connection.ws?.terminate()
        return
      }
    }
  })

const describeCause = (cause: unknown): string | undefined => {
  if (cause === undefined || cause === null) return undefined
  if (typeof cause === "object" && "message" in cause && typeof cause.message === "string" && cause.message !== "") {
    return cause.message
  }
  if (typeof cause === "object" && "error" in cause) return describeCause(cause.error)
  return undefined
}
