/**
 * The simulator's inference RPCs over a raw socket: embeddings, tokens, prompt templates and
 * file uploads (what every client's tests rely on).
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as TestClock from "effect/TestClock"
import { LMStudioSimulator } from "lmstudio-effect/testing"
import { setup as setupClient } from "./support/harness.js"
import { call, channel, connect, packets, type RawClient, realSleep } from "./support/rawSocket.js"

const LLAMA = "llama-3.2-1b-instruct"
const NOMIC = "text-embedding-nomic-embed-text-v1.5"
const byKey = (identifier: string) => ({ type: "query", query: { identifier } })

const cosine = (a: ReadonlyArray<number>, b: ReadonlyArray<number>) => a.reduce((sum, x, i) => sum + x * (b[i] ?? 0), 0)
const norm = (a: ReadonlyArray<number>) => Math.sqrt(cosine(a, a))

/** A simulator with LLaMA and nomic loaded, and a raw client on each namespace. */
const setup = (options: LMStudioSimulator.SimulatorOptions = {}) =>
  Effect.gen(function*() {
    const sim = yield* LMStudioSimulator.make({ loadMs: 0, ...options })
    yield* sim.preload(LLAMA)
    yield* sim.preload(NOMIC)
    const llm = yield* connect(sim.url, "llm")
    const embedding = yield* connect(sim.url, "embedding")
    return { sim, llm, embedding }
  })

let callId = 0
const embedOf = (client: RawClient, inputString: string, identifier = NOMIC) =>
  Effect.map(
    call(client, callId++, "embedString", { modelSpecifier: byKey(identifier), inputString }),
    (frame): ReadonlyArray<number> => frame.result.embedding
  )

describe("simulator inference RPCs", () => {
  it.scopedLive("embedString: deterministic 768-dimension unit vectors; shared words are closer", () =>
    Effect.gen(function*() {
      const { embedding } = yield* setup()
      const cat = yield* embedOf(embedding, "the cat sat on the mat")
      assert.lengthOf(cat, 768)
      assert.closeTo(norm(cat), 1, 1e-9)
      assert.deepStrictEqual(yield* embedOf(embedding, "the cat sat on the mat"), cat)
      const near = yield* embedOf(embedding, "a cat on a mat")
      const far = yield* embedOf(embedding, "quarterly tax filing deadlines")
      assert.isAbove(cosine(cat, near), cosine(cat, far) + 0.3)
      assert.isBelow(Math.abs(cosine(cat, far)), 0.2)
      // Different texts give different vectors, even when only case or order differs.
      const variants = ["Hi", "hi", "a b", "b a", "", " "]
      const vectors = yield* Effect.forEach(variants, (text) => embedOf(embedding, text))
      for (const v of vectors) assert.closeTo(norm(v), 1, 1e-9)
      assert.strictEqual(new Set(vectors.map((v) => v.join(","))).size, variants.length)
    }))

  it.scopedLive("embedString: a catalog entry's embeddingDimension sets the vector size", () =>
    Effect.gen(function*() {
      const small = {
        type: "embedding" as const,
        modelKey: "text-embedding-all-minilm-l6-v2",
        format: "gguf" as const,
        displayName: "all-MiniLM-L6-v2",
        path: "second-state/All-MiniLM-L6-v2-Embedding-GGUF/all-MiniLM-L6-v2-Q4_0.gguf",
        sizeBytes: 20_000_000,
        maxContextLength: 512,
        embeddingDimension: 384
      }
      const sim = yield* LMStudioSimulator.make({ loadMs: 0, catalog: [small] })
      yield* sim.preload(small.modelKey)
      const client = yield* connect(sim.url, "embedding")
      assert.lengthOf(yield* embedOf(client, "hello", small.modelKey), 384)
      // The dimension is the simulator's business: it is not reported on the wire.
      assert.notProperty(sim.catalog[0], "embeddingDimension")
      const listed = yield* call(client, 99, "listLoaded")
      assert.notProperty(listed.result[0], "embeddingDimension")
    }))

  it.scopedLive("tokenize / countTokens: stable ids; LLM count = length, embedding length = count + 2", () =>
    Effect.gen(function*() {
      const { embedding, llm } = yield* setup()
      const text = "Chaos is a ladder."
      const params = (identifier: string, inputString = text) => ({ specifier: byKey(identifier), inputString })
      const llmTokens = (yield* call(llm, 0, "tokenize", params(LLAMA))).result.tokens
      // Fixed ids: the same in every run and process.
      assert.deepStrictEqual(llmTokens, [4871, 7683, 18298, 18103, 8873])
      assert.deepStrictEqual((yield* call(llm, 1, "countTokens", params(LLAMA))).result, { tokenCount: 5 })
      const embeddingTokens = (yield* call(embedding, 2, "tokenize", params(NOMIC))).result.tokens
      assert.deepStrictEqual(embeddingTokens, [101, ...llmTokens, 102])
      assert.deepStrictEqual((yield* call(embedding, 3, "countTokens", params(NOMIC))).result, { tokenCount: 5 })
      // Long words are split; every character is counted somewhere.
      const long = (yield* call(llm, 4, "tokenize", params(LLAMA, "internationalization  "))).result.tokens
      assert.lengthOf(long, 4)
      assert.deepStrictEqual((yield* call(llm, 5, "countTokens", params(LLAMA, ""))).result, { tokenCount: 0 })
    }))

  it.scopedLive("applyPromptTemplate: ChatML ending with the generation prompt; BOS/EOS options; tools in the system part", () =>
    Effect.gen(function*() {
      const { llm } = yield* setup()
      const history = {
        messages: [
          { role: "system", content: [{ type: "text", text: "Be terse." }] },
          { role: "user", content: [{ type: "text", text: "Hi" }] },
          { role: "assistant", content: [{ type: "text", text: "Hello." }] },
          { role: "user", content: [{ type: "text", text: "Weather?" }] }
        ]
      }
      const apply = (id: number, opts: unknown, h: unknown = history) =>
        Effect.map(
          call(llm, id, "applyPromptTemplate", { specifier: byKey(LLAMA), history: h, predictionConfigStack: { layers: [] }, opts }),
          (frame) => frame.result.formatted
        )
      assert.strictEqual(
        yield* apply(0, {}),
        "<|begin_of_text|><|im_start|>system\nBe terse.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n" +
          "<|im_start|>assistant\nHello.<|im_end|><|endoftext|>\n<|im_start|>user\nWeather?<|im_end|>\n<|im_start|>assistant\n"
      )
      assert.strictEqual(
        yield* apply(1, { omitBosToken: true, omitEosToken: true }),
        "<|im_start|>system\nBe terse.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n" +
          "<|im_start|>assistant\nHello.<|im_end|>\n<|im_start|>user\nWeather?<|im_end|>\n<|im_start|>assistant\n"
      )
      const tool = { type: "function", function: { name: "get_weather", description: "Weather now" } }
      const withTools: string = yield* apply(2, { toolDefinitions: [tool] })
      assert.include(withTools, `<|im_start|>system\nBe terse.\n\n# Tools`)
      assert.include(withTools, `<tools>\n${JSON.stringify(tool)}\n</tools>`)
      // No system message: the tools get a system part of their own, first.
      const noSystem: string = yield* apply(3, { toolDefinitions: [tool], omitBosToken: true }, {
        messages: [{ role: "user", content: [{ type: "text", text: "Hi" }] }]
      })
      assert.match(noSystem, /^<\|im_start\|>system\n# Tools/)
      assert.isTrue(noSystem.endsWith("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"))
    }))

  it.scopedLive("a query identifier matches the identifier, the model key or a case-insensitive path prefix", () =>
    Effect.gen(function*() {
      const { embedding, llm } = yield* setup()
      const count = (client: RawClient, identifier: string) =>
        call(client, callId++, "countTokens", { specifier: byKey(identifier), inputString: "a b" })
      for (const identifier of [LLAMA, "hugging-quants/llama-3.2-1b-instruct", "HUGGING-QUANTS/Llama-3.2-1B-Instruct-Q8_0-GGUF"]) {
        assert.deepStrictEqual((yield* count(llm, identifier)).result, { tokenCount: 2 }, identifier)
      }
      assert.lengthOf(yield* embedOf(embedding, "x", "nomic-ai/nomic-embed-text-v1.5"), 768)
      for (const identifier of ["llama", "llama-3.2-1b-instruc", "hugging-quants/llama-3.2-1b-instruct-q4"]) {
        assert.strictEqual((yield* count(llm, identifier)).error.displayData.code, "generic.noModelMatchingQuery", identifier)
      }
    }))

  it.scopedLive("a prediction's promptTokensCount is countTokens(applyPromptTemplate(chat))", () =>
    Effect.gen(function*() {
      const sim = yield* LMStudioSimulator.make({ loadMs: 0, tokenMs: 0 })
      yield* sim.preload(LLAMA)
      const llm = yield* connect(sim.url, "llm")
      const history = {
        messages: [
          { role: "system", content: [{ type: "text", text: "You are terse." }] },
          { role: "user", content: [{ type: "text", text: "How many tokens is this prompt?" }] }
        ]
      }
      const stack = { layers: [] }
      const formatted = (yield* call(llm, 0, "applyPromptTemplate", { specifier: byKey(LLAMA), history, predictionConfigStack: stack, opts: {} })).result.formatted
      const count = (yield* call(llm, 1, "countTokens", { specifier: byKey(LLAMA), inputString: formatted })).result.tokenCount
      const frames = yield* channel(llm, 2, "predict", { modelSpecifier: byKey(LLAMA), history, predictionConfigStack: stack })
      const success = packets(frames).find((p) => p.type === "success")
      assert.strictEqual(success.stats.promptTokensCount, count)
    }))

  it.scoped("embedString and applyPromptTemplate restart the idle timer (TestClock)", () =>
    Effect.gen(function*() {
      const sim = yield* LMStudioSimulator.make({ loadMs: 0 })
      yield* sim.preload(NOMIC, { ttlMs: 1000 })
      yield* sim.preload(LLAMA, { ttlMs: 1000 })
      const embedding = yield* connect(sim.url, "embedding")
      const llm = yield* connect(sim.url, "llm")
      yield* TestClock.adjust(600)
      yield* embedOf(embedding, "keep me")
      const template = yield* call(llm, 0, "applyPromptTemplate", {
        specifier: byKey(LLAMA),
        history: { messages: [] },
        predictionConfigStack: { layers: [] },
        opts: {}
      })
      assert.strictEqual(template.result.formatted, "<|begin_of_text|><|im_start|>assistant\n")
      yield* realSleep(10) // let the restarted timers start sleeping
      yield* TestClock.adjust(999)
      assert.lengthOf(yield* sim.loaded, 2)
      yield* TestClock.adjust(1)
      assert.deepStrictEqual(yield* sim.loaded, [])
    }))

  it.scopedLive("a gone or unknown instance fails at once with noModelMatchingQuery; bad parameters get an rpcError", () =>
    Effect.gen(function*() {
      const { embedding, llm, sim } = yield* setup()
      const [llama] = yield* sim.loaded
      yield* sim.unloadAll
      const gone = { type: "instanceReference", instanceReference: llama!.instanceReference }
      for (
        const [client, endpoint, parameter] of [
          [llm, "tokenize", { specifier: gone, inputString: "x" }],
          [llm, "countTokens", { specifier: byKey(LLAMA), inputString: "x" }],
          [embedding, "embedString", { modelSpecifier: byKey(NOMIC), inputString: "x" }],
          [llm, "applyPromptTemplate", { specifier: gone, history: { messages: [] }, predictionConfigStack: { layers: [] }, opts: {} }]
        ] as const
      ) {
        const answer = yield* call(client, 10, endpoint, parameter)
        assert.strictEqual(answer.type, "rpcError", endpoint)
        assert.strictEqual(answer.error.displayData.code, "generic.noModelMatchingQuery", endpoint)
      }
      const bad = yield* call(llm, 11, "tokenize", { specifier: byKey(LLAMA), inputString: 42 })
      assert.strictEqual(bad.type, "rpcError")
      assert.include(bad.error.title, `Invalid parameter for "tokenize"`)
      const badHistory = yield* call(llm, 12, "applyPromptTemplate", {
        specifier: byKey(LLAMA),
        history: { messages: [{ role: "user", content: [{ type: "toolCallResult", content: "x" }] }] },
        predictionConfigStack: { layers: [] },
        opts: {}
      })
      assert.strictEqual(badHistory.type, "rpcError")
    }))
})

describe("simulator files namespace", () => {
  const PNG = Buffer.from("89504e470d0a1a0a0000000d4948445200000001000000010806000000", "hex")
  const cases: ReadonlyArray<readonly [string, Buffer, string]> = [
    ["dot.png", PNG, "image"],
    ["photo.jpg", Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 16]), "image"],
    ["anim.gif", Buffer.from("GIF89a\x01\x00", "latin1"), "image"],
    ["pic.webp", Buffer.concat([Buffer.from("RIFF"), Buffer.alloc(4), Buffer.from("WEBPVP8 ")]), "image"],
    ["paper.pdf", Buffer.from("%PDF-1.7\n"), "application/pdf"],
    ["notes.txt", Buffer.from("héllo wörld\n"), "text/plain"],
    ["blob.bin", Buffer.from([0xc3, 0x28, 0x00, 0xff]), "unknown"]
  ]

  it.scopedLive("uploadFileBase64: type from the content, decoded size, fresh identifiers without path separators", () =>
    Effect.gen(function*() {
      const sim = yield* LMStudioSimulator.make({ loadMs: 0 })
      const files = yield* connect(sim.url, "files")
      const identifiers: Array<string> = []
      for (const [i, [name, bytes, fileType]] of cases.entries()) {
        const answer = yield* call(files, i, "uploadFileBase64", { name, contentBase64: bytes.toString("base64") })
        assert.deepInclude(answer.result, { fileType, sizeBytes: bytes.length }, name)
        identifiers.push(answer.result.identifier)
      }
      // The same bytes twice, and a name with path separators.
      const again = yield* call(files, 20, "uploadFileBase64", { name: "dot.png", contentBase64: PNG.toString("base64") })
      const sneaky = yield* call(files, 21, "uploadFileBase64", { name: "../a\\b/c.png", contentBase64: PNG.toString("base64") })
      identifiers.push(again.result.identifier, sneaky.result.identifier)
      assert.strictEqual(new Set(identifiers).size, identifiers.length)
      for (const identifier of identifiers) assert.notMatch(identifier, /[/\\]/)
      assert.match(again.result.identifier, /^\d+-\d+-dot\.png$/)
      const bad = yield* call(files, 22, "uploadFileBase64", { name: "x.png", contentBase64: "not base64!" })
      assert.strictEqual(bad.type, "rpcError")
      assert.include(bad.error.title, "contentBase64 is not valid base64")
    }))
})

describe("simulator key matching seen through lmstudio-effect", () => {
  it.scopedLive("a typo or a fragment is a ModelNotFoundError listing model keys; an ambiguous prefix names the candidates", () =>
    Effect.gen(function*() {
      const { client, sim } = yield* setupClient({ loadMs: 0 })
      for (const key of ["llama-3.2-1b-instruc", "qwen"]) {
        const error = yield* Effect.flip(client.llm.model(key))
        assert.strictEqual(error._tag, "ModelNotFoundError")
        assert.include(error.message, `Available: ${LLAMA}, qwen2.5-7b-instruct`)
        assert.notInclude(error.message, ".gguf")
      }
      const ambiguous = yield* Effect.flip(client.llm.model("lmstudio-community/qwen2"))
      assert.strictEqual(ambiguous._tag, "ModelNotFoundError")
      assert.include(ambiguous.message, "matches 2 models: qwen2.5-7b-instruct, qwen2-vl-2b-instruct")
      assert.deepStrictEqual(yield* sim.loaded, [])
    }))
})
