/**
 * Images: upload an image with `client.files.prepareImage`, then ask a vision model about it.
 * A model without vision refuses images before anything is sent. (Bytes here; a path works
 * too, read through the `FileSystem` service the program provides, e.g. `NodeFileSystem.layer`
 * from `@effect/platform-node`.)
 *
 *   npx tsx examples/image.ts
 */
import { Console, Effect } from "effect"
import { Chat, LMStudioClient, runMain } from "lmstudio-effect"

/** A 1×1 PNG. */
const dot = Uint8Array.from(
  atob("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="),
  (c) => c.charCodeAt(0)
)

const program = Effect.gen(function*() {
  const client = yield* LMStudioClient
  const image = yield* client.files.prepareImage({ name: "dot.png", data: dot })
  yield* Console.log(`uploaded ${image.name}: ${image.type}, ${image.sizeBytes} bytes, identifier ${image.identifier}`)

  const question = Chat.make(Chat.user("What is in this image?", { images: [image] }))
  // Unloaded when the scope closes, if this program loaded it.
  const vlm = yield* client.llm.modelScoped("qwen2-vl-2b-instruct")
  const answer = yield* vlm.respond(question, { config: { maxTokens: 20 } })
  yield* Console.log(`${vlm.identifier}: ${answer.content}`)

  const llm = yield* client.llm.modelScoped("llama-3.2-1b-instruct")
  const refused = yield* Effect.flip(llm.respond(question))
  yield* Console.log(`${llm.identifier}: ${refused.message}`)
})

program.pipe(Effect.scoped, Effect.provide(LMStudioClient.layerConfig()), runMain)
