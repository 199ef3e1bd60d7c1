/**
 * The hand-written checks of load packets accept exactly what their Schemas accept: generated
 * packets (from the Schemas' `Arbitrary`), near misses and arbitrary junk.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Arbitrary from "effect/Arbitrary"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as Schema from "effect/Schema"
import {
  isLoadedPacket,
  isProgressPacket,
  loadPacket,
  LoadedPacket,
  ProgressPacket
} from "../src/internal/protocol/loadPackets.js"
import { LlmInfo, LlmInstanceInfo } from "../src/ModelInfo.js"

const AnyPacket = loadPacket(LlmInfo, LlmInstanceInfo)
const decodePacket = Schema.decodeUnknownEither(AnyPacket)
const isProgress = Schema.is(ProgressPacket)
const isLoaded = Schema.is(LoadedPacket)

const packetTypes = ["progress", "loadProgress", "success", "loadSuccess", "alreadyLoaded", "resolved", "Progress", ""]

/** Objects shaped almost like packets: right or wrong `type`, any `progress`, any `info`. */
const nearMiss = FastCheck.record(
  {
    type: FastCheck.oneof(FastCheck.constantFrom(...packetTypes), FastCheck.anything()),
    progress: FastCheck.oneof(FastCheck.double(), FastCheck.anything()),
    info: FastCheck.oneof(
      FastCheck.record(
        { identifier: FastCheck.oneof(FastCheck.string(), FastCheck.anything()), instanceReference: FastCheck.oneof(FastCheck.string(), FastCheck.anything()) },
        { requiredKeys: [] }
      ),
      FastCheck.anything()
    )
  },
  { requiredKeys: [] }
)

/** Every kind of candidate: valid packets of each Schema (on the wire), near misses, junk. */
const candidate = FastCheck.oneof(
  Arbitrary.make(ProgressPacket),
  Arbitrary.make(LoadedPacket),
  Arbitrary.make(AnyPacket).map((packet) => Schema.encodeSync(AnyPacket)(packet)),
  nearMiss,
  FastCheck.anything()
)

describe("hand-written packet checks", () => {
  it.prop("isProgressPacket accepts exactly what ProgressPacket accepts", [candidate], ([u]) => {
    assert.strictEqual(isProgressPacket(u), isProgress(u))
    // …and whatever it accepts, the load's full packet Schema reads as progress.
    if (isProgressPacket(u)) {
      const decoded = decodePacket(u)
      assert.isTrue(Either.isRight(decoded) && (decoded.right.type === "progress" || decoded.right.type === "loadProgress"))
    }
  }, { fastCheck: { numRuns: 2000 } })

  it.prop("isLoadedPacket accepts exactly what LoadedPacket accepts", [candidate], ([u]) => {
    assert.strictEqual(isLoadedPacket(u), isLoaded(u))
  }, { fastCheck: { numRuns: 2000 } })
})
