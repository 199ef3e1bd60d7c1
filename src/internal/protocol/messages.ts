/**
 * Wire messages of LM Studio's WebSocket protocol.
 *
 * Every frame is a JSON text frame. Fields that are `undefined` on the JS side are absent on the
 * wire, never `null`, so optional fields here are `Schema.optional` (absent key), never nullable.
 *
 * @internal
 */
import * as Schema from "effect/Schema"
import { SerializedError } from "./serializedError.js"

const Id = Schema.Int

// ---------------------------------------------------------------------------------------------
// Authentication
// ---------------------------------------------------------------------------------------------

/** The first frame a client sends on every namespace socket. */
export const AuthPacket = Schema.Struct({
  authVersion: Schema.Literal(1),
  clientIdentifier: Schema.String.pipe(Schema.maxLength(256)),
  clientPasskey: Schema.String.pipe(Schema.maxLength(256))
})
export type AuthPacket = typeof AuthPacket.Type

/** The server's single reply to the auth packet. */
export const AuthResult = Schema.Union(
  Schema.Struct({ success: Schema.Literal(true) }),
  Schema.Struct({ success: Schema.Literal(false), error: Schema.optional(Schema.String) })
)
export type AuthResult = typeof AuthResult.Type

// ---------------------------------------------------------------------------------------------
// Client → server
// ---------------------------------------------------------------------------------------------

export const Patch = Schema.Struct({
  op: Schema.Literal("replace", "add", "remove"),
  path: Schema.Array(Schema.Union(Schema.String, Schema.Number)),
  value: Schema.optional(Schema.Unknown)
})

const CommunicationWarning = Schema.Struct({
  type: Schema.Literal("communicationWarning"),
  warning: Schema.String,
  kind: Schema.optional(Schema.String)
})

export const ClientMessage = Schema.Union(
  CommunicationWarning,
  Schema.Struct({ type: Schema.Literal("keepAlive") }),
  Schema.Struct({
    type: Schema.Literal("channelCreate"),
    endpoint: Schema.String,
    channelId: Id,
    creationParameter: Schema.optional(Schema.Unknown)
  }),
  Schema.Struct({
    type: Schema.Literal("channelSend"),
    channelId: Id,
    message: Schema.Unknown,
    ackId: Schema.optional(Id)
  }),
  Schema.Struct({ type: Schema.Literal("channelAck"), channelId: Id, ackId: Id }),
  Schema.Struct({
    type: Schema.Literal("rpcCall"),
    endpoint: Schema.String,
    callId: Id,
    parameter: Schema.optional(Schema.Unknown)
  }),
  Schema.Struct({
    type: Schema.Literal("signalSubscribe"),
    endpoint: Schema.String,
    subscribeId: Id,
    creationParameter: Schema.optional(Schema.Unknown)
  }),
  Schema.Struct({ type: Schema.Literal("signalUnsubscribe"), subscribeId: Id }),
  Schema.Struct({
    type: Schema.Literal("writableSignalSubscribe"),
    endpoint: Schema.String,
    subscribeId: Id,
    creationParameter: Schema.optional(Schema.Unknown)
  }),
  Schema.Struct({ type: Schema.Literal("writableSignalUnsubscribe"), subscribeId: Id }),
  Schema.Struct({
    type: Schema.Literal("writableSignalUpdate"),
    subscribeId: Id,
    patches: Schema.Array(Patch),
    tags: Schema.Array(Schema.String)
  })
)
export type ClientMessage = typeof ClientMessage.Type

// ---------------------------------------------------------------------------------------------
// Server → client
// ---------------------------------------------------------------------------------------------

export const ServerMessage = Schema.Union(
  CommunicationWarning,
  Schema.Struct({ type: Schema.Literal("keepAliveAck") }),
  Schema.Struct({
    type: Schema.Literal("channelSend"),
    channelId: Id,
    message: Schema.Unknown,
    ackId: Schema.optional(Id)
  }),
  Schema.Struct({ type: Schema.Literal("channelAck"), channelId: Id, ackId: Id }),
  Schema.Struct({ type: Schema.Literal("channelClose"), channelId: Id }),
  Schema.Struct({ type: Schema.Literal("channelError"), channelId: Id, error: SerializedError }),
  Schema.Struct({ type: Schema.Literal("rpcResult"), callId: Id, result: Schema.optional(Schema.Unknown) }),
  Schema.Struct({ type: Schema.Literal("rpcError"), callId: Id, error: SerializedError }),
  Schema.Struct({
    type: Schema.Literal("signalUpdate"),
    subscribeId: Id,
    patches: Schema.Array(Patch),
    tags: Schema.Array(Schema.String)
  }),
  Schema.Struct({ type: Schema.Literal("signalError"), subscribeId: Id, error: SerializedError }),
  Schema.Struct({
    type: Schema.Literal("writableSignalUpdate"),
    subscribeId: Id,
    patches: Schema.Array(Patch),
    tags: Schema.Array(Schema.String)
  }),
  Schema.Struct({ type: Schema.Literal("writableSignalError"), subscribeId: Id, error: SerializedError })
)
export type ServerMessage = typeof ServerMessage.Type

/** The `type` of every message a server may send; any other `type` is from a newer protocol. */
export const serverMessageTypes: ReadonlySet<string> = new Set(
  ServerMessage.members.map((member) => member.fields.type.literals[0])
)

/**
 * The three frames that make up nearly all traffic (results, channel packets, channel ends),
 * checked by hand because a schema decode per frame is the largest cost of a busy socket. It
 * accepts only what `ServerMessage` accepts (a property test holds it to that); anything else,
 * and anything that does not pass, goes through the schema.
 */
export const commonMessage = (json: unknown): ServerMessage | undefined => {
  if (typeof json !== "object" || json === null) return undefined
  const frame = json as Record<string, unknown>
  switch (frame.type) {
    case "rpcResult":
      return Number.isSafeInteger(frame.callId) ? (frame as ServerMessage) : undefined
    case "channelSend":
      return Number.isSafeInteger(frame.channelId) && "message" in frame &&
          (frame.ackId === undefined || Number.isSafeInteger(frame.ackId))
        ? (frame as ServerMessage)
        : undefined
    case "channelClose":
      return Number.isSafeInteger(frame.channelId) ? (frame as ServerMessage) : undefined
    default:
      return undefined
  }
}

/** Decodes an already-parsed JSON value into a server message. */
export const decodeServerMessage = Schema.decodeUnknownEither(ServerMessage)

/** Decodes an already-parsed JSON value into a client message (used by servers). */
export const decodeClientMessage = Schema.decodeUnknownEither(ClientMessage)

/** Decodes an already-parsed JSON value into an auth packet (used by servers). */
export const decodeAuthPacket = Schema.decodeUnknownEither(AuthPacket)

/** Decodes an already-parsed JSON value into the server's auth reply. */
export const decodeAuthResult = Schema.decodeUnknownEither(AuthResult)
