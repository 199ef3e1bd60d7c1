/**
 * Images: upload an image with `client.files.prepareImage`, get the `FileHandle` that chat
 * messages refer to. (Bytes here; a path works too, read through the `FileSystem` service the
 * program provides, e.g. `NodeFileSystem.layer` from `@effect/platform-node`.)
 *
 *   npx tsx examples/image.ts
 */
import { Console, Effect } from "effect"
import { LMStudioClient } from "lmstudio-effect"

/** A 1×1 PNG. */
const dot = Uint8Array.from(
  atob("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="),
  (c) => c.charCodeAt(0)
)

const program = Effect.gen(function*() {
  const client = yield* LMStudioClient
  const image = yield* client.files.prepareImage({ name: "dot.png", data: dot })
  yield* Console.log(`uploaded ${image.name}: ${image.type}, ${image.sizeBytes} bytes, identifier ${image.identifier}`)
})

program.pipe(Effect.provide(LMStudioClient.layerConfig()), Effect.runPromise)
