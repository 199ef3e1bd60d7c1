/**
 * Proof of fidelity for the inference RPCs: the OFFICIAL `@lmstudio/sdk` 1.5.0 and 2.0.0 clients,
 * unchanged, against the simulator — embeddings, tokens, prompt templates and image uploads.
 * Every test also checks that the client never complained about a frame it received.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Sdk150 from "@lmstudio/sdk"
import * as Sdk200 from "@lmstudio/sdk-2"
import * as Effect from "effect/Effect"
import { LMStudioSimulator } from "lmstudio-effect/testing"

const silent = { info() {}, warn() {}, error() {}, debug() {} }
const LLAMA = "llama-3.2-1b-instruct"
const VISION = "qwen2-vl-2b-instruct"
const NOMIC = "text-embedding-nomic-embed-text-v1.5"
/** A 1×1 PNG. */
const DOT_PNG =
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8/5+hHgAHggJ/PchI7wAAAABJRU5ErkJggg=="

/** What these tests use of an official client: the same surface in 1.5.0 and 2.0.0. */
interface OfficialModel {
  tokenize(text: string): Promise<Array<number>>
  tokenize(texts: Array<string>): Promise<Array<Array<number>>>
  countTokens(text: string): Promise<number>
}
interface OfficialLlm extends OfficialModel {
  readonly modelKey: string
  getContextLength(): Promise<number>
  applyPromptTemplate(
    history: string | Array<{ role: "system" | "user" | "assistant"; content: string }>,
    opts?: { omitBosToken?: boolean }
  ): Promise<string>
}
interface OfficialEmbedding extends OfficialModel {
  embed(text: string): Promise<{ embedding: Array<number> }>
  embed(texts: Array<string>): Promise<Array<{ embedding: Array<number> }>>
}
interface OfficialFile {
  readonly identifier: string
  readonly type: string
  readonly sizeBytes: number
}
interface OfficialClient {
  readonly llm: { model(key: string): Promise<OfficialLlm> }
  readonly embedding: { model(key: string): Promise<OfficialEmbedding> }
  readonly files: { prepareImageBase64(name: string, contentBase64: string): Promise<OfficialFile> }
  [Symbol.asyncDispose](): Promise<void>
}

interface Version {
  readonly make: (baseUrl: string) => OfficialClient
  /** One user message with an image, templated without BOS (the image handle is version-specific). */
  readonly templateWithImage: (llm: OfficialLlm, image: OfficialFile, text: string) => Promise<string>
  /** `respond` to one user message with an image; the reply's content. */
  readonly respondWithImage: (llm: OfficialLlm, image: OfficialFile, text: string) => Promise<string>
}

const versions: ReadonlyArray<readonly [string, Version]> = [
  ["1.5.0", {
    make: (baseUrl) => new Sdk150.LMStudioClient({ baseUrl, logger: silent }),
    templateWithImage: (llm, image, content) =>
      (llm as unknown as Sdk150.LLM).applyPromptTemplate([{ role: "user", content, images: [image as Sdk150.FileHandle] }], {
        omitBosToken: true
      }),
    respondWithImage: async (llm, image, content) =>
      (await (llm as unknown as Sdk150.LLM).respond([{ role: "user", content, images: [image as Sdk150.FileHandle] }])).content
  }],
  ["2.0.0", {
    make: (baseUrl) => new Sdk200.LMStudioClient({ baseUrl, logger: silent }),
    templateWithImage: (llm, image, content) =>
      (llm as unknown as Sdk200.LLM).applyPromptTemplate([{ role: "user", content, images: [image as Sdk200.FileHandle] }], {
        omitBosToken: true
      }),
    respondWithImage: async (llm, image, content) =>
      (await (llm as unknown as Sdk200.LLM).respond([{ role: "user", content, images: [image as Sdk200.FileHandle] }])).content
  }]
]

const run = <A>(f: () => Promise<A>) => Effect.promise(f)
const cosine = (a: ReadonlyArray<number>, b: ReadonlyArray<number>) => a.reduce((sum, x, i) => sum + x * (b[i] ?? 0), 0)

/** Frames the official client sent back as complaints: there must be none. */
const assertClientHappy = (sim: LMStudioSimulator.LMStudioSimulator.Service) =>
  Effect.gen(function*() {
    const complaints = (yield* sim.traffic).filter((t) =>
      t.direction === "in" && (t.frame as { type?: unknown } | null)?.type === "communicationWarning"
    )
    assert.deepStrictEqual(complaints, [])
  })

for (const [version, { make: makeClient, respondWithImage, templateWithImage }] of versions) {
  const setup = Effect.gen(function*() {
    const sim = yield* LMStudioSimulator.make({ loadMs: 0 })
    const client = yield* Effect.acquireRelease(
      Effect.sync(() => makeClient(sim.url)),
      (client) => Effect.promise(() => client[Symbol.asyncDispose]())
    )
    return { sim, client }
  })

  describe(`official @lmstudio/sdk ${version}: inference against the simulator`, () => {
    it.scopedLive("embed: single and batch, 768 dimensions, unit norm, deterministic, in input order", () =>
      Effect.gen(function*() {
        const { client, sim } = yield* setup
        const model = yield* run(() => client.embedding.model(NOMIC))
        const { embedding } = yield* run(() => model.embed("the cat sat on the mat"))
        assert.lengthOf(embedding, 768)
        assert.closeTo(Math.sqrt(cosine(embedding, embedding)), 1, 1e-9)
        const texts = ["quarterly tax filing deadlines", "a cat on a mat", "the cat sat on the mat"]
        const batch = yield* run(() => model.embed(texts))
        assert.lengthOf(batch, 3)
        assert.deepStrictEqual(batch[2]!.embedding, embedding) // deterministic, and in input order
        const singles = yield* Effect.forEach(texts, (text) => run(() => model.embed(text)))
        assert.deepStrictEqual(batch.map((e) => e.embedding), singles.map((e) => e.embedding))
        assert.isAbove(cosine(embedding, batch[1]!.embedding), cosine(embedding, batch[0]!.embedding))
        yield* assertClientHappy(sim)
      }))

    it.scopedLive("tokenize / countTokens: LLM count equals token length; embedding tokenize is count + 2", () =>
      Effect.gen(function*() {
        const { client, sim } = yield* setup
        const llm = yield* run(() => client.llm.model(LLAMA))
        const text = "Chaos is a ladder."
        const tokens = yield* run(() => llm.tokenize(text))
        assert.strictEqual(yield* run(() => llm.countTokens(text)), tokens.length)
        assert.deepStrictEqual(yield* run(() => llm.tokenize(text)), tokens)
        const [a, b] = yield* run(() => llm.tokenize([text, "hello world"]))
        assert.deepStrictEqual(a, tokens)
        assert.lengthOf(b!, 2)
        const embedding = yield* run(() => client.embedding.model(NOMIC))
        const count = yield* run(() => embedding.countTokens(text))
        assert.lengthOf(yield* run(() => embedding.tokenize(text)), count + 2)
        yield* assertClientHappy(sim)
      }))

    it.scopedLive("applyPromptTemplate renders the chat and ends with the generation prompt", () =>
      Effect.gen(function*() {
        const { client, sim } = yield* setup
        const llm = yield* run(() => client.llm.model(LLAMA))
        const formatted = yield* run(() =>
          llm.applyPromptTemplate([
            { role: "system", content: "This is the system prompt." },
            { role: "user", content: "User message 1" },
            { role: "assistant", content: "Assistant message 1" },
            { role: "user", content: "User message 2" }
          ])
        )
        assert.strictEqual(
          formatted,
          "<|begin_of_text|><|im_start|>system\nThis is the system prompt.<|im_end|>\n<|im_start|>user\nUser message 1<|im_end|>\n" +
            "<|im_start|>assistant\nAssistant message 1<|im_end|><|endoftext|>\n<|im_start|>user\nUser message 2<|im_end|>\n" +
            "<|im_start|>assistant\n"
        )
        const bare = yield* run(() => llm.applyPromptTemplate("Hi", { omitBosToken: true }))
        assert.strictEqual(bare, "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n")
        // The documented "does it fit" recipe works end to end.
        const count = yield* run(() => llm.countTokens(formatted))
        assert.isBelow(count, yield* run(() => llm.getContextLength()))
        yield* assertClientHappy(sim)
      }))

    it.scopedLive("model(key): a typo or a fragment is refused with the model keys to choose from", () =>
      Effect.gen(function*() {
        const { client, sim } = yield* setup
        for (const key of ["llama-3.2-1b-instruc", "qwen"]) {
          const message = yield* Effect.flip(Effect.tryPromise(() => client.llm.model(key)))
          const text = String(message.error)
          assert.include(text, key)
          assert.include(text, LLAMA) // the keys available, not file paths
          assert.notInclude(text, ".gguf")
        }
        const ambiguous = String((yield* Effect.flip(Effect.tryPromise(() => client.llm.model("lmstudio-community/qwen2")))).error)
        assert.include(ambiguous, "qwen2.5-7b-instruct")
        assert.include(ambiguous, VISION)
        assert.deepStrictEqual(yield* sim.loaded, [])
        // The publisher/model form LM Studio's own test suites use still works.
        const byPath = yield* run(() => client.llm.model("hugging-quants/llama-3.2-1b-instruct"))
        assert.strictEqual(byPath.modelKey, LLAMA)
        yield* assertClientHappy(sim)
      }))

    it.scopedLive("files.prepareImageBase64 uploads an image the template can reference", () =>
      Effect.gen(function*() {
        const { client, sim } = yield* setup
        const image = yield* run(() => client.files.prepareImageBase64("dot.png", DOT_PNG))
        assert.strictEqual(image.type, "image")
        assert.strictEqual(image.sizeBytes, Buffer.from(DOT_PNG, "base64").length)
        assert.notMatch(image.identifier, /[/\\]/)
        const again = yield* run(() => client.files.prepareImageBase64("dot.png", DOT_PNG))
        assert.notStrictEqual(again.identifier, image.identifier)
        const vision = yield* run(() => client.llm.model(VISION))
        const formatted = yield* run(() => templateWithImage(vision, image, "What is this?"))
        assert.strictEqual(
          formatted,
          "<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>What is this?<|im_end|>\n<|im_start|>assistant\n"
        )
        yield* assertClientHappy(sim)
      }))

    it.scopedLive("a chat with an image: the vision model answers, a model without vision refuses at once", () =>
      Effect.gen(function*() {
        const { client, sim } = yield* setup
        const image = yield* run(() => client.files.prepareImageBase64("dot.png", DOT_PNG))
        const vision = yield* run(() => client.llm.model(VISION))
        const answer = yield* run(() => respondWithImage(vision, image, "What is this?"))
        assert.isAbove(answer.length, 0)
        yield* sim.preload(LLAMA)
        const blind = yield* run(() => client.llm.model(LLAMA))
        const refusal = yield* Effect.flip(Effect.tryPromise(() => respondWithImage(blind, image, "What is this?")))
        assert.include(String(refusal.error), "does not support images")
        yield* assertClientHappy(sim)
      }))
  })
}
