/**
 * What a handle does besides loading: embeddings, tokens, "does this prompt fit", image uploads.
 * Guide-style, against the simulator; scripted servers where a test needs to hold replies.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Chat, LMStudioClient, Tokenization } from "../src/index.js"
import { LMStudioSimulator } from "../src/testing/index.js"
import { LLAMA, NOMIC, sent, setup } from "./support/harness.js"
import * as NodeFileSystem from "./support/nodeFileSystem.js"
import { recordingTracer } from "./support/recordingTracer.js"
import { acceptAll, listen, type Peer } from "./support/scriptedServer.js"

type Frame = { readonly type?: string; readonly endpoint?: string; readonly callId?: number; readonly parameter?: any }

const cosine = (a: ReadonlyArray<number>, b: ReadonlyArray<number>) => {
  let dot = 0
  for (let i = 0; i < a.length; i++) dot += a[i]! * b[i]!
  return dot
}
const norm = (a: ReadonlyArray<number>) => Math.sqrt(cosine(a, a))

/** A 1×1 PNG (70 bytes). */
const DOT_PNG_BASE64 =
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
const DOT_PNG = new Uint8Array(Buffer.from(DOT_PNG_BASE64, "base64"))

describe("guide: embeddings", () => {
  it.scopedLive("embed(text): one unit vector of the model's dimension, the same for the same text", () =>
    Effect.gen(function*() {
      const { client, sim } = yield* setup()
      const model = yield* client.embedding.model(NOMIC)
      const vector: ReadonlyArray<number> = yield* model.embed("Chaos is a ladder.")
      assert.strictEqual(vector.length, 768)
      assert.closeTo(norm(vector), 1, 1e-9)
      assert.deepStrictEqual(yield* model.embed("Chaos is a ladder."), vector)
      const calls = yield* sent(sim, "rpcCall")
      assert.deepStrictEqual(calls.filter((f) => f.endpoint === "embedString")[0]?.parameter, {
        modelSpecifier: { type: "instanceReference", instanceReference: model.info.instanceReference },
        inputString: "Chaos is a ladder."
      })
    }))

  it.scopedLive("embed(texts): one vector per text, in input order", () =>
    Effect.gen(function*() {
      const { client } = yield* setup()
      const model = yield* client.embedding.model(NOMIC)
      const texts = ["The cat sat on the mat.", "Stocks fell sharply today.", "A kitten sleeps on a rug.", "x"]
      const vectors: ReadonlyArray<ReadonlyArray<number>> = yield* model.embed(texts)
      assert.strictEqual(vectors.length, texts.length)
      for (let i = 0; i < texts.length; i++) {
        assert.deepStrictEqual(vectors[i], yield* model.embed(texts[i]!), `vector ${i}`)
      }
      assert.notDeepEqual(vectors[0], vectors[1])
    }))

  it.scopedLive("bad input is an InvalidArgumentError naming the field, and nothing is sent", () =>
    Effect.gen(function*() {
      const { client, sim } = yield* setup()
      const model = yield* client.embedding.model(NOMIC)
      const before = (yield* sent(sim)).length
      const cases: ReadonlyArray<readonly [unknown, unknown, string, string]> = [
        ["", undefined, "text", "must not be empty"],
        [[], undefined, "texts", "at least one text"],
        [["a", ""], undefined, "texts[1]", "must not be empty"],
        [["a", "b", 3], undefined, "texts[2]", "must be a string, got number"],
        [null, undefined, "text", "must be a string, got null"],
        [["a"], { concurrency: 0 }, "concurrency", "at least 1"],
        [["a"], { concurrency: 1.5 }, "concurrency", "whole number"]
      ]
      for (const [input, options, field, reason] of cases) {
        const error = yield* Effect.flip((model.embed as (i: unknown, o: unknown) => Effect.Effect<unknown, any>)(input, options))
        assert.strictEqual(error._tag, "InvalidArgumentError", JSON.stringify(input))
        assert.strictEqual(error.field, field)
        assert.include(error.reason, reason)
      }
      assert.strictEqual((yield* sent(sim)).length, before, "no frame was sent")
    }))
})

/**
 * A scripted server with one loaded embedding instance that holds `embedString` calls: it answers
 * one (the newest, so replies come back out of order) only when `window` calls are waiting, and
 * all of them once `total` calls arrived. A client that sent more than `window` at once would
 * show it in `maxInFlight`; one that sent fewer would hang.
 */
const holdingServer = (window: number, total: number) =>
  Effect.gen(function*() {
    const sim = yield* LMStudioSimulator.make({ loadMs: 0 })
    const info = yield* sim.preload(NOMIC)
    const state = { inFlight: 0, maxInFlight: 0, received: [] as Array<string> }
    const held: Array<{ peer: Peer; frame: Frame }> = []
    const release = () => {
      const next = held.pop()!
      state.inFlight--
      const text: string = next.frame.parameter.inputString
      next.peer.send({ type: "rpcResult", callId: next.frame.callId, result: { embedding: [text.length, 1] } })
    }
    const pump = () => {
      if (state.received.length === total) while (held.length > 0) release()
      else if (state.inFlight >= window) release()
    }
    const server = yield* listen(acceptAll((peer, raw) => {
      const frame = raw as Frame
      if (frame.type !== "rpcCall") return
      if (frame.endpoint === "listLoaded") return peer.send({ type: "rpcResult", callId: frame.callId, result: [info] })
      if (frame.endpoint === "embedString") {
        state.received.push(frame.parameter.inputString)
        held.push({ peer, frame })
        state.maxInFlight = Math.max(state.maxInFlight, ++state.inFlight)
        setImmediate(pump)
      }
    }))
    const client = yield* LMStudioClient.make({ baseUrl: server.url })
    const [model] = yield* client.embedding.listLoaded()
    return { model: model!, state }
  })

describe("embed(texts) keeps a bounded number of requests in flight", () => {
  it.scopedLive("concurrency: 3 → never more than 3 embedString calls at the server, results still in order", () =>
    Effect.gen(function*() {
      const texts = Array.from({ length: 10 }, (_, i) => "t".repeat(i + 1))
      const { model, state } = yield* holdingServer(3, texts.length)
      const vectors = yield* model.embed(texts, { concurrency: 3 })
      assert.strictEqual(state.maxInFlight, 3)
      assert.deepStrictEqual(state.received.sort(), [...texts].sort())
      assert.deepStrictEqual(vectors.map((v) => v[0]), texts.map((t) => t.length))
    }))

  it.scopedLive("the default bound is the client's embedConcurrency (16)", () =>
    Effect.gen(function*() {
      const texts = Array.from({ length: 40 }, (_, i) => "u".repeat(i + 1))
      const { model, state } = yield* holdingServer(16, texts.length)
      const vectors = yield* model.embed(texts)
      assert.strictEqual(state.maxInFlight, 16)
      assert.deepStrictEqual(vectors.map((v) => v[0]), texts.map((t) => t.length))
    }))
})

describe("guide: tokenization", () => {
  it.scopedLive("LLM: countTokens equals the length of tokenize; tokenize(texts) is tokenize of each, in order", () =>
    Effect.gen(function*() {
      const { client, sim } = yield* setup()
      const model = yield* client.llm.model(LLAMA)
      const tokens = yield* model.tokenize("Chaos is a ladder.")
      assert.isAbove(tokens.length, 0)
      assert.isTrue(tokens.every(Number.isInteger))
      assert.strictEqual(yield* model.countTokens("Chaos is a ladder."), tokens.length)
      const texts = ["Chaos is a ladder.", "", "Hello, world!"]
      const many = yield* model.tokenize(texts, { concurrency: 2 })
      assert.deepStrictEqual(many, [tokens, yield* model.tokenize(""), yield* model.tokenize("Hello, world!")])
      assert.deepStrictEqual(yield* model.tokenize([]), [])
      const calls = (yield* sent(sim, "rpcCall")).filter((f) => f.endpoint === "countTokens")
      assert.deepStrictEqual(calls[0]?.parameter, {
        specifier: { type: "instanceReference", instanceReference: model.info.instanceReference },
        inputString: "Chaos is a ladder."
      })
    }))

  it.scopedLive("embedding models tokenize and count too, over their own socket", () =>
    Effect.gen(function*() {
      const { client, sim } = yield* setup()
      const model = yield* client.embedding.model(NOMIC)
      const tokens = yield* model.tokenize("Chaos is a ladder.")
      const count = yield* model.countTokens("Chaos is a ladder.")
      assert.isAbove(count, 0)
      // Like nomic-embed-text in LM Studio: tokenize adds the begin/end markers, countTokens does not.
      assert.strictEqual(tokens.length, count + 2)
      assert.deepStrictEqual(yield* model.tokenize(["Chaos is a ladder."]), [tokens])
      const onEmbedding = (yield* sim.traffic).filter((e) =>
        e.direction === "in" && e.namespace === "embedding" && (e.frame as Frame).type === "rpcCall"
      ).map((e) => (e.frame as Frame).endpoint)
      assert.deepStrictEqual(onEmbedding, ["tokenize", "countTokens", "tokenize"])
    }))

  it.scopedLive("a non-string is refused before anything is sent", () =>
    Effect.gen(function*() {
      const { client, sim } = yield* setup()
      const model = yield* client.llm.model(LLAMA)
      const before = (yield* sent(sim)).length
      const a = yield* Effect.flip(model.countTokens(42 as never))
      assert.strictEqual(a._tag, "InvalidArgumentError")
      const b = yield* Effect.flip(model.tokenize(["ok", undefined] as never))
      assert.strictEqual((b as { field?: string }).field, "texts[1]")
      assert.strictEqual((yield* sent(sim)).length, before)
    }))

  it.scopedLive("does it fit? Tokenization.contextUsage compares the prompt's tokens with the context length", () =>
    Effect.gen(function*() {
      const { client } = yield* setup()
      const model = yield* client.llm.loadNewInstance(LLAMA, { config: { contextLength: 16 } })
      const count = yield* model.countTokens("Chaos is a ladder.")
      const short = yield* Tokenization.contextUsage(model, "Chaos is a ladder.")
      assert.deepStrictEqual(short, { promptTokens: count, contextLength: 16, remaining: 16 - count, fits: true })
      const long = yield* Tokenization.contextUsage(model, "word ".repeat(20))
      assert.strictEqual(long.fits, false)
      assert.strictEqual(long.remaining, 16 - long.promptTokens)
    }))

  it.scopedLive("does this chat fit? chatContextUsage = applyPromptTemplate → countTokens → getContextLength", () =>
    Effect.gen(function*() {
      const { client } = yield* setup()
      const model = yield* client.llm.loadNewInstance(LLAMA, { config: { contextLength: 64 } })
      const chat = Chat.make(Chat.system("You are terse."), Chat.user("Say hi"))
      const formatted = yield* model.applyPromptTemplate(chat)
      const usage = yield* Tokenization.chatContextUsage(model, chat)
      assert.strictEqual(usage.promptTokens, yield* model.countTokens(formatted))
      assert.isAbove(usage.promptTokens, yield* model.countTokens("You are terse. Say hi"), "roles and markers count too")
      assert.strictEqual(usage.contextLength, 64)
      assert.strictEqual(usage.fits, usage.promptTokens <= 64)
      const tooLong = yield* Tokenization.chatContextUsage(model, "lorem ipsum ".repeat(100))
      assert.isFalse(tooLong.fits)
      assert.isBelow(tooLong.remaining, 0)
    }))
})

describe("a handle whose instance is gone", () => {
  it.scopedLive("embed, tokenize and countTokens fail with ModelNotFoundError that says how to get a fresh handle", () =>
    Effect.gen(function*() {
      const { client } = yield* setup()
      const embedding = yield* client.embedding.loadNewInstance(NOMIC)
      const llm = yield* client.llm.loadNewInstance(LLAMA)
      yield* client.embedding.unload(embedding.identifier)
      yield* llm.unload
      for (
        const effect of [
          embedding.embed("hi"),
          embedding.embed(["a", "b"]),
          embedding.tokenize("hi"),
          llm.tokenize("hi"),
          llm.countTokens("hi")
        ] as ReadonlyArray<Effect.Effect<unknown, { _tag: string; message: string }>>
      ) {
        const error = yield* Effect.flip(effect)
        assert.strictEqual(error._tag, "ModelNotFoundError")
        assert.include(error.message, "already been unloaded")
        assert.include(error.message, "model(key)")
      }
    }))

  it.scopedLive("LM Studio's two ways of saying so (noModelMatchingQuery, \"Model is unloaded.\") both become the handle's error", () =>
    Effect.gen(function*() {
      const sim = yield* LMStudioSimulator.make({ loadMs: 0 })
      const info = yield* sim.preload(NOMIC)
      const server = yield* listen(acceptAll((peer, raw) => {
        const frame = raw as Frame
        if (frame.endpoint === "listLoaded") return peer.send({ type: "rpcResult", callId: frame.callId, result: [info] })
        const error = frame.endpoint === "embedString"
          ? { title: "No model matches", displayData: { code: "generic.noModelMatchingQuery", query: {} } }
          : { title: "Model is unloaded." }
        peer.send({ type: "rpcError", callId: frame.callId, error })
      }))
      const lms = yield* LMStudioClient.make({ baseUrl: server.url })
      const [model] = yield* lms.embedding.listLoaded()
      for (const effect of [model!.embed("a"), model!.tokenize("a")] as ReadonlyArray<Effect.Effect<unknown, any>>) {
        const error = yield* Effect.flip(effect)
        assert.strictEqual(error._tag, "ModelNotFoundError")
        assert.include(error.message, `"${NOMIC}" has already been unloaded`)
      }
    }))

  it.scopedLive("a result of the wrong shape is a ProtocolError naming the endpoint", () =>
    Effect.gen(function*() {
      const sim = yield* LMStudioSimulator.make({ loadMs: 0 })
      const info = yield* sim.preload(NOMIC)
      const server = yield* listen(acceptAll((peer, raw) => {
        const frame = raw as Frame
        if (frame.endpoint === "listLoaded") return peer.send({ type: "rpcResult", callId: frame.callId, result: [info] })
        peer.send({ type: "rpcResult", callId: frame.callId, result: { embedding: ["x"], tokens: [1.5], tokenCount: -1 } })
      }))
      const lms = yield* LMStudioClient.make({ baseUrl: server.url })
      const [model] = yield* lms.embedding.listLoaded()
      for (const [effect, endpoint] of [[model!.embed("a"), "embedString"], [model!.tokenize("a"), "tokenize"], [model!.countTokens("a"), "countTokens"]] as const) {
        const error = yield* Effect.flip(effect as Effect.Effect<unknown, any>)
        assert.strictEqual(error._tag, "ProtocolError")
        assert.strictEqual(error.endpoint, endpoint)
      }
    }))
})

/** A files socket that accepts uploads like LM Studio (identifier from the name, type from the bytes). */
const uploadServer = Effect.gen(function*() {
  let uploads = 0
  const server = yield* listen(acceptAll((peer, raw) => {
    const frame = raw as Frame
    if (peer.path !== "/files" || frame.endpoint !== "uploadFileBase64") return
    const bytes = Buffer.from(frame.parameter.contentBase64, "base64")
    const isPng = bytes.subarray(0, 4).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47]))
    peer.send({
      type: "rpcResult",
      callId: frame.callId,
      result: { identifier: `${++uploads}-${frame.parameter.name}`, fileType: isPng ? "image" : "unknown", sizeBytes: bytes.length }
    })
  }))
  const client = yield* LMStudioClient.make({ baseUrl: server.url })
  const uploadFrames = () =>
    server.received.filter((r) => r.path === "/files" && (r.frame as Frame).type === "rpcCall").map((r) => (r.frame as Frame).parameter)
  return { client, uploadFrames }
})

describe("guide: images (client.files.prepareImage)", () => {
  it.scoped("from bytes with a name: uploaded as base64 on the files socket, a FileHandle back", () =>
    Effect.gen(function*() {
      const { client, uploadFrames } = yield* uploadServer
      const image = yield* client.files.prepareImage({ name: "dot.png", data: DOT_PNG })
      assert.strictEqual(image._tag, "FileHandle")
      assert.deepStrictEqual({ ...image }, { _tag: "FileHandle", name: "dot.png", identifier: "1-dot.png", type: "image", sizeBytes: 70 })
      assert.deepStrictEqual(uploadFrames(), [{ name: "dot.png", contentBase64: DOT_PNG_BASE64 }])
      const again = yield* client.files.prepareImage({ name: "dot.png", base64: DOT_PNG_BASE64 })
      assert.strictEqual(again.identifier, "2-dot.png")
      assert.deepStrictEqual(uploadFrames()[1], { name: "dot.png", contentBase64: DOT_PNG_BASE64 })
    }))

  it.scoped("from a path, through the FileSystem service the program provides; the model sees the base name", () =>
    Effect.gen(function*() {
      const { client, uploadFrames } = yield* uploadServer
      const dir = mkdtempSync(join(tmpdir(), "lmstudio-effect-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(dir, { recursive: true, force: true })))
      const path = join(dir, "dot.png")
      writeFileSync(path, DOT_PNG)
      const image = yield* client.files.prepareImage(path).pipe(Effect.provide(NodeFileSystem.layer))
      assert.strictEqual(image.name, "dot.png")
      assert.strictEqual(image.type, "image")
      assert.deepStrictEqual(uploadFrames(), [{ name: "dot.png", contentBase64: DOT_PNG_BASE64 }])
      const missing = yield* Effect.flip(client.files.prepareImage(join(dir, "nope.png")).pipe(Effect.provide(NodeFileSystem.layer)))
      assert.strictEqual(missing._tag, "SystemError")
      assert.strictEqual((missing as { reason?: string }).reason, "NotFound")
      assert.strictEqual(uploadFrames().length, 1, "nothing uploaded for a missing file")
    }))

  it.scoped("bad input is refused before anything is sent", () =>
    Effect.gen(function*() {
      const { client, uploadFrames } = yield* uploadServer
      const cases: ReadonlyArray<readonly [unknown, string]> = [
        [{ name: "", data: DOT_PNG }, "name"],
        [{ name: "dot.png", data: new Uint8Array(0) }, "data"],
        [{ name: "dot.png", data: [1, 2, 3] }, "data"],
        [{ name: "dot.png", base64: "data:image/png;base64,AAAA" }, "base64"],
        [{ name: "dot.png", base64: "not base64!" }, "base64"],
        [{ name: "dot.png" }, "image"],
        [{ name: "a\nb", data: DOT_PNG }, "name"],
        ["", "path"],
        ["/tmp/dir/", "path"]
      ]
      for (const [input, field] of cases) {
        const error = yield* Effect.flip(
          (client.files.prepareImage as (i: unknown) => Effect.Effect<unknown, any>)(input).pipe(Effect.provide(NodeFileSystem.layer))
        )
        assert.strictEqual(error._tag, "InvalidArgumentError", JSON.stringify(input))
        assert.strictEqual(error.field, field, JSON.stringify(input))
      }
      assert.deepStrictEqual(uploadFrames(), [])
    }))
})

describe("guide: images against the simulator", () => {
  it.scopedLive("an uploaded PNG is an image with a server-chosen identifier; text is text/plain", () =>
    Effect.gen(function*() {
      const { client, sim } = yield* setup()
      const image = yield* client.files.prepareImage({ name: "dot.png", data: DOT_PNG })
      assert.strictEqual(image.type, "image")
      assert.strictEqual(image.sizeBytes, DOT_PNG.length)
      assert.notInclude(image.identifier, "/")
      const again = yield* client.files.prepareImage({ name: "dot.png", base64: DOT_PNG_BASE64 })
      assert.notStrictEqual(again.identifier, image.identifier, "every upload gets its own identifier")
      const text = yield* client.files.prepareImage({ name: "notes.txt", data: new TextEncoder().encode("hello") })
      assert.strictEqual(text.type, "text/plain")
      const onFiles = (yield* sim.traffic).filter((e) => e.direction === "in" && e.namespace === "files" && (e.frame as Frame).type === "rpcCall")
      assert.strictEqual(onFiles.length, 3)
    }))
})

describe("guide: images in a chat", () => {
  const VISION = "qwen2-vl-2b-instruct"

  it.scopedLive("a vision model gets the image as a file part before the text, and answers", () =>
    Effect.gen(function*() {
      const { client, sim } = yield* setup()
      const image = yield* client.files.prepareImage({ name: "dot.png", data: DOT_PNG })
      const model = yield* client.llm.loadNewInstance(VISION)
      const result = yield* model.respond(Chat.make(Chat.user("What is in this image?", { images: [image] })))
      assert.isAbove(result.content.length, 0)
      const create = (yield* sent(sim, "channelCreate")).find((f) => f.endpoint === "predict")
      const message = (create?.creationParameter as { history: { messages: Array<{ content: Array<unknown> }> } }).history.messages[0]
      assert.deepStrictEqual(message?.content, [
        { type: "file", name: "dot.png", identifier: image.identifier, sizeBytes: 70, fileType: "image" },
        { type: "text", text: "What is in this image?" }
      ])
    }))

  it.scopedLive("a model without vision: an InvalidArgumentError on chat that says so, and no prediction is started", () =>
    Effect.gen(function*() {
      const { client, sim } = yield* setup()
      const image = yield* client.files.prepareImage({ name: "dot.png", data: DOT_PNG })
      const model = yield* client.llm.loadNewInstance(LLAMA)
      assert.isFalse(model.info.vision)
      const error = yield* Effect.flip(model.respond([{ role: "user", content: "Describe it", images: [image] }]))
      assert.strictEqual(error._tag, "InvalidArgumentError")
      assert.strictEqual((error as { field?: string }).field, "chat")
      assert.include(error.message, "not a vision model")
      assert.include(error.message, LLAMA)
      assert.isUndefined((yield* sent(sim, "channelCreate")).find((f) => f.endpoint === "predict"))
    }))
})

describe("every operation is a client span", () => {
  it.scopedLive("LMStudio.<domain>.<operation>, with the instance's identifier and model key", () =>
    Effect.gen(function*() {
      const { spans, tracer } = recordingTracer()
      const { client } = yield* setup()
      const embedding = yield* client.embedding.loadNewInstance(NOMIC)
      const llm = yield* client.llm.loadNewInstance(LLAMA)
      yield* Effect.all([
        client.files.prepareImage({ name: "dot.png", data: DOT_PNG }),
        embedding.embed(["a", "b"]),
        embedding.tokenize("a"),
        embedding.countTokens("a"),
        llm.tokenize("a"),
        llm.countTokens("a")
      ]).pipe(Effect.withTracer(tracer))
      const names = spans.map((s) => s.name)
      for (
        const name of [
          "LMStudio.embedding.embed",
          "LMStudio.embedding.tokenize",
          "LMStudio.embedding.countTokens",
          "LMStudio.llm.tokenize",
          "LMStudio.llm.countTokens",
          "LMStudio.files.prepareImage"
        ]
      ) assert.include(names, name)
      const embed = spans.find((s) => s.name === "LMStudio.embedding.embed")!
      assert.strictEqual(embed.attributes.get("lmstudio.model_key"), NOMIC)
      assert.strictEqual(embed.attributes.get("lmstudio.input_count"), 2)
    }))
})
