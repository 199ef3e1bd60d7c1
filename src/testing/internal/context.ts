/**
 * What an endpoint handler gets, and how endpoints are declared.
 *
 * @internal
 */
import type * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type { ModelDomain } from "../../ModelInfo.js"
import { invalidParameter, type ServerFailure } from "./errors.js"
import type { ConnectionEntry, Sim } from "./state.js"

/** Context of an RPC call. */
export interface CallContext {
  readonly sim: Sim
  readonly connection: ConnectionEntry
  /** The model domain of the namespace (`undefined` for `system` and others). */
  readonly domain: ModelDomain | undefined
}

/** Context of an open channel. */
export interface ChannelContext extends CallContext {
  /** Sends one `channelSend` packet (subject to `delayReplies`). */
  readonly send: (packet: unknown) => Effect.Effect<void>
  /** Completed when the client sends `{ type: "cancel" }`. */
  readonly cancelled: Deferred.Deferred<void>
  /** Closes the socket abruptly (`ws.terminate()`), then waits to be interrupted. */
  readonly terminate: Effect.Effect<never>
}

type Decoded<A> = Either.Either<A, ParseResult.ParseError>

/** An RPC endpoint: `undefined` success = void result (no `result` key). */
export type RpcEndpoint = (ctx: CallContext, parameter: unknown) => Decoded<Effect.Effect<unknown, ServerFailure>>

/** A channel endpoint: success ends with `channelClose`, failure with `channelError`. */
export interface ChannelEndpoint {
  readonly open: (ctx: ChannelContext, parameter: unknown) => Decoded<Effect.Effect<void, ServerFailure>>
  /** Whether the channel defines the `cancel` packet. */
  readonly cancellable: boolean
}

/** The endpoints of one namespace. */
export interface NamespaceEndpoints {
  readonly rpc: ReadonlyMap<string, RpcEndpoint>
  readonly channel: ReadonlyMap<string, ChannelEndpoint>
}

/** Declares an RPC whose parameter is validated with `schema`. */
export const rpc = <A, I>(
  schema: Schema.Schema<A, I>,
  handle: (ctx: CallContext, parameter: A) => Effect.Effect<unknown, ServerFailure>
): RpcEndpoint => {
  const decode = Schema.decodeUnknownEither(schema)
  return (ctx, raw) => Either.map(decode(raw), (parameter) => handle(ctx, parameter))
}

/**
 * Declares an RPC whose invalid parameters get an `rpcError` naming the problem, instead of the
 * reference server's lone `communicationWarning` that leaves the caller waiting [inferred].
 */
export const rpcStrict = <A, I>(
  endpoint: string,
  schema: Schema.Schema<A, I>,
  handle: (ctx: CallContext, parameter: A) => Effect.Effect<unknown, ServerFailure>
): RpcEndpoint => {
  const decode = Schema.decodeUnknownEither(schema)
  return (ctx, raw) =>
    Either.right(Either.match(decode(raw), {
      onLeft: (error) => Effect.fail(invalidParameter(endpoint, error.message)),
      onRight: (parameter) => handle(ctx, parameter)
    }))
}

/** Declares an RPC without a parameter (whatever is sent is ignored). */
export const rpcNoParameter = (handle: (ctx: CallContext) => Effect.Effect<unknown, ServerFailure>): RpcEndpoint =>
(ctx) => Either.right(handle(ctx))

/** Declares a channel whose creation parameter is validated with `schema`. */
export const channel = <A, I>(
  schema: Schema.Schema<A, I>,
  handle: (ctx: ChannelContext, parameter: A) => Effect.Effect<void, ServerFailure>
): ChannelEndpoint => {
  const decode = Schema.decodeUnknownEither(schema)
  return { open: (ctx, raw) => Either.map(decode(raw), (parameter) => handle(ctx, parameter)), cancellable: true }
}
