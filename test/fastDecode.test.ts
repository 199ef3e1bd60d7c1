/**
 * The fast decoders of model infos and load packets return exactly what their Schemas return:
 * on generated values (from the Schemas' `Arbitrary`, as they are on the wire), the same values
 * with extra or missing fields and wrong types, and arbitrary junk.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Arbitrary from "effect/Arbitrary"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as Schema from "effect/Schema"
import * as FastDecode from "../src/internal/protocol/fastDecode.js"
import { loadPacket } from "../src/internal/protocol/loadPackets.js"
import { EmbeddingModelInfo, EmbeddingModelInstanceInfo, LlmInfo, LlmInstanceInfo } from "../src/ModelInfo.js"

const schemas = {
  LlmInstanceInfo,
  "Array(LlmInstanceInfo)": Schema.Array(LlmInstanceInfo),
  "Array(EmbeddingModelInstanceInfo)": Schema.Array(EmbeddingModelInstanceInfo),
  "Array(LlmInfo)": Schema.Array(LlmInfo),
  "load packets (LLM)": loadPacket(LlmInfo, LlmInstanceInfo),
  "load packets (embedding)": loadPacket(EmbeddingModelInfo, EmbeddingModelInstanceInfo)
} as const

/** A value changed a little: a field dropped, retyped, or added. */
const mutate = (u: unknown) =>
  FastCheck.tuple(FastCheck.nat(), FastCheck.constantFrom("drop", "retype", "add"), FastCheck.anything()).map(
    ([index, how, junk]) => {
      const target = Array.isArray(u) ? u[index % Math.max(1, u.length)] : u
      if (typeof target !== "object" || target === null) return junk
      const copy: Record<string, unknown> = { ...(target as Record<string, unknown>) }
      const keys = Object.keys(copy)
      const key = keys[index % Math.max(1, keys.length)] ?? "type"
      if (how === "drop") delete copy[key]
      else if (how === "retype") copy[key] = junk
      else copy[`extra${index}`] = junk
      return Array.isArray(u) ? u.map((item, i) => (i === index % u.length ? copy : item)) : copy
    }
  )

describe("fast decoders", () => {
  for (const [name, schema] of Object.entries(schemas)) {
    const s = schema as Schema.Schema<unknown, unknown, never>
    const reference = Schema.decodeUnknownEither(s)
    const fast = FastDecode.decodeUnknownEither(s)
    const encoded = Arbitrary.make(s).map((value) => Schema.encodeSync(s)(value))
    const candidate = FastCheck.oneof(encoded, encoded.chain(mutate), FastCheck.anything())

    it(`${name} has a fast path`, () => {
      assert.isTrue(FastDecode.hasFastPath(s))
    })

    it.prop(`${name}: the same result as the Schema`, [candidate], ([u]) => {
      // Effect's Schema itself throws on some values (an object whose `toString` is not a function
      // where it expects a literal); the fast path must then do the same, not answer differently.
      // (The connection turns a throw into a ProtocolError for the frame's owner: see hostile.test.ts.)
      const outcome = <A>(decode: (u: unknown) => A) => {
        try {
          return decode(u)
        } catch {
          return "throws" as const
        }
      }
      const expected = outcome(reference)
      const actual = outcome(fast)
      if (expected === "throws" || actual === "throws") return assert.strictEqual(actual, expected)
      assert.strictEqual(actual._tag, expected._tag)
      if (Either.isRight(expected) && Either.isRight(actual)) {
        assert.deepStrictEqual(actual.right, expected.right)
        // Same keys in the same order (what JSON.stringify and spreads see).
        assert.strictEqual(JSON.stringify(actual.right), JSON.stringify(expected.right))
      }
    }, { fastCheck: { numRuns: 500 } })
  }

  it("a Schema with refinements has no fast path and decodes as before", () => {
    const Positive = Schema.Struct({ n: Schema.Number.pipe(Schema.positive()) })
    assert.isFalse(FastDecode.hasFastPath(Positive))
    assert.isTrue(Either.isLeft(FastDecode.decodeUnknownEither(Positive)({ n: -1 })))
  })
})
