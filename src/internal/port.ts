/**
 * One authenticated WebSocket per namespace (`/llm`, `/embedding`, `/system`, `/files`),
 * multiplexing RPCs and channels by id. Signals
 * are not supported: no namespace declares one.
 *
 * - The socket opens lazily on first use; concurrent first calls share one connect.
 * - A dropped socket fails every pending call and channel at once with a
 *   `ConnectionError`; the next call reconnects with fresh ids (ids are per connection).
 * - No frame can throw out of the socket's listener; how each frame is routed (and what happens
 *   to malformed, unknown or late ones) is described in `connection.ts`.
 * - A close frame fails pending work at once, even when the server keeps the TCP connection
 *   open; the next call reconnects.
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
import { AuthenticationError, ConnectionError, type LMStudioError, ProtocolError } from "../LMStudioError.js"
import { type ChannelOptions, ChannelState, Connection } from "./connection.js"
import type { Credentials } from "./credentials.js"
import { decodeAuthResult } from "./protocol/messages.js"
import type { ErrorContext } from "./serverErrors.js"
import * as ServerText from "./serverText.js"
import { makeWebSocket } from "./webSocket.js"

export type { ChannelOptions } from "./connection.js"

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
  /**
   * Inbound packets in order; ends on `channelClose`, fails on `channelError` or disconnect.
   * Empty and already ended when the channel was opened with a synchronous `reader`.
   */
  readonly packets: Mailbox.ReadonlyMailbox<unknown, LMStudioError>
  readonly send: (message: unknown) => Effect.Effect<void, ConnectionError>
  /** `false` once the server ended the channel or the connection dropped. */
  readonly isOpen: () => boolean
  /** Queues a packet of the caller's own behind the inbound ones (e.g. a timeout marker). */
  readonly inject: (packet: unknown) => void
}

export interface Port {
  /**
   * Removes this client's secrets from server text, for errors built outside the port (e.g.
   * `ProtocolError.fromParseError(error, { endpoint, redact: port.redact })`).
   */
  readonly redact: (text: string) => string
  /** Opens and authenticates the socket if it is not open yet. */
  readonly connect: Effect.Effect<void, LMStudioError>
  /** One RPC round trip; the raw `result` (`undefined` when absent). */
  readonly call: (
    endpoint: string,
    parameter?: unknown,
    context?: Partial<ErrorContext>
  ) => Effect.Effect<unknown, LMStudioError>
  /**
   * Opens a channel; the caller must run `close` (which sends `cancelMessage`, if given, when the
   * server has not ended the channel, so that the server stops the work).
   */
  readonly openChannelUnscoped: (
    endpoint: string,
    creationParameter: unknown,
    options?: ChannelOptions
  ) => Effect.Effect<Channel & { readonly close: Effect.Effect<void> }, LMStudioError>
}

const frameText = (data: string | Uint8Array): string =>
  typeof data === "string" ? data : new TextDecoder().decode(data.subarray(0, 4_096))

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
  const server = ServerText.make(ServerText.scrubberOf([Redacted.value(options.credentials.clientPasskey)]))

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
    const connection = new Connection(url, server)
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
    // Runs inside the socket's message listener: nothing here may throw (`receive` never does).
    const onFrame = (data: string | Uint8Array): Effect.Effect<void> | void => {
      let json: unknown
      try {
        json = JSON.parse(typeof data === "string" ? data : new TextDecoder().decode(data))
      } catch {
        const detail = `not JSON: ${server.preview(frameText(data))}`
        if (!authReplied) return onAuthReply(undefined, detail)
        return connection.malformed(undefined, detail)
      }
      if (!authReplied) return onAuthReply(json)
      return connection.receive(json)
    }
    const onAuthReply = (json: unknown, notJson?: string): void => {
      authReplied = true
      const reply = decodeAuthResult(json)
      Deferred.unsafeDone(
        authenticated,
        Either.isLeft(reply)
          ? Exit.fail(new ProtocolError({ detail: `unexpected reply to authentication: ${notJson ?? server.preview(json)}` }))
          : reply.right.success
          ? Exit.void
          : Exit.fail(new AuthenticationError({ url, serverReason: server.text(reply.right.error ?? "no reason given") }))
      )
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
        return new ConnectionError({ reason: "Unreachable", url, ...underlying(error.cause) })
      }
      if (error.reason === "Close") {
        return new ConnectionError({ reason: "Closed", url, detail: `The socket closed (close code ${error.code}).` })
      }
      return new ConnectionError({ reason: "Closed", url, ...underlying(error.cause) })
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
    if (current !== undefined && current.closed === undefined) {
      if (current.isOpen()) return Effect.succeed(current)
      // The server sent a close frame (the socket is closing) but the TCP connection lingers:
      // fail what is pending now and open a new socket instead of waiting for the old one.
      current.failAll(new ConnectionError({ reason: "Closed", url, detail: "The server closed the socket." }))
      current.ws?.terminate()
      current = undefined
    }
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
        return Effect.sync(() => conn.abandonCall(callId))
      })
    )

  /** The `packets` of channels read synchronously: none, ever. */
  const noPackets = yield* Mailbox.make<unknown, LMStudioError>()
  yield* noPackets.end

  const openChannelUnscoped: Port["openChannelUnscoped"] = (endpoint, creationParameter, channelOptions) =>
    // Registration and the create frame happen in one synchronous step once connected, so an
    // interruption can never leave a channel half made.
    Effect.flatMap(
      channelOptions?.reader === undefined
        ? Effect.zip(connection, Mailbox.make<unknown, LMStudioError>())
        : Effect.map(connection, (conn): [Connection, Mailbox.Mailbox<unknown, LMStudioError> | undefined] => [conn, undefined]),
      ([conn, mailbox]) =>
      Effect.suspend(() => {
        const channelId = conn.nextId++
        const state = new ChannelState({ endpoint, ...channelOptions?.context }, mailbox, channelOptions)
        conn.channels.set(channelId, state)
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
          packets: mailbox ?? noPackets,
          send: (message: unknown) => conn.send({ type: "channelSend", channelId, message }),
          isOpen: () => conn.channels.has(channelId),
          inject: (packet: unknown) => state.offer(packet),
          close: Effect.suspend(() => {
            const stillOpen = conn.channels.delete(channelId)
            if (stillOpen) conn.leftChannels.add(channelId)
            if (!stillOpen || channelOptions?.cancelMessage === undefined) return Effect.void
            return Effect.ignore(conn.send({ type: "channelSend", channelId, message: channelOptions.cancelMessage }))
          })
        }
        return Effect.succeed(channel)
      }))

  return {
    redact: server.scrub,
    connect: Effect.asVoid(connection),
    call,
    openChannelUnscoped
  } satisfies Port
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

/** The error under a socket failure (`ws` wraps it in an event), as `detail` and `cause`. */
const underlying = (cause: unknown): { detail?: string; cause?: Error } => {
  const error = cause instanceof Error
    ? cause
    : typeof cause === "object" && cause !== null && "error" in cause && cause.error instanceof Error
    ? cause.error
    : undefined
  if (error === undefined) return {}
  return error.message === "" ? { cause: error } : { detail: error.message, cause: error }
}
