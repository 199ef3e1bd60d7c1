/**
 * The hand-written check for the three most common server frames, held to the `ServerMessage`
 * schema it stands in for: it may let a frame fall through to the schema, never accept one the
 * schema rejects.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Arbitrary from "effect/Arbitrary"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import { commonMessage, decodeServerMessage, ServerMessage } from "../src/internal/protocol/messages.js"

const FAST_TYPES = ["rpcResult", "channelSend", "channelClose"] as const

/** Ids as a broken server might send them: fractions, unsafe integers, strings, nothing. */
const junkId = FastCheck.oneof(
  FastCheck.integer(),
  FastCheck.double(),
  FastCheck.constantFrom(2 ** 53, -(2 ** 53), 2 ** 60, 1e21, -0, Number.NaN, Infinity),
  FastCheck.string(),
  FastCheck.constantFrom(null, undefined, true, [], {})
)

/** Frames shaped like the common ones, with any field missing or wrong. */
const nearMiss = FastCheck.record({
  type: FastCheck.oneof(FastCheck.constantFrom(...FAST_TYPES, "rpcError", "channelError", "mystery"), FastCheck.anything()),
  callId: junkId,
  channelId: junkId,
  ackId: junkId,
  message: FastCheck.anything(),
  result: FastCheck.anything()
}, { requiredKeys: [] })

const validMessage = Arbitrary.make(ServerMessage)

describe("commonMessage (the fast path for rpcResult, channelSend, channelClose)", () => {
  it.prop(
    "never accepts what the ServerMessage schema rejects",
    [FastCheck.oneof(validMessage, nearMiss, FastCheck.anything())],
    ([frame]) => {
      if (commonMessage(frame) !== undefined) assert.isTrue(Either.isRight(decodeServerMessage(frame)), JSON.stringify(frame))
    },
    { fastCheck: { numRuns: 5_000 } }
  )

  it.prop(
    "accepts every valid message of the three common types (so real traffic takes the fast path)",
    [validMessage],
    ([frame]) => {
      if ((FAST_TYPES as ReadonlyArray<string>).includes(frame.type)) assert.strictEqual(commonMessage(frame), frame)
      else assert.isUndefined(commonMessage(frame))
    },
    { fastCheck: { numRuns: 2_000 } }
  )
})
