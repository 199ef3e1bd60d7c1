/**
 * Images go only to vision models: a chat with image parts for an LLM whose info says
 * `vision: false` is refused before any frame. (LM Studio itself answers such a prediction with a
 * `channelError` whose title is not specified; refusing first gives a typed error that says what
 * to do, and keeps the upload's identifiers from reaching a model that cannot read them.)
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import { InvalidArgumentError } from "../../LMStudioError.js"
import type { LlmInstanceInfo } from "../../ModelInfo.js"

interface HistoryWithParts {
  readonly messages: ReadonlyArray<{ readonly content: ReadonlyArray<{ readonly type: string; readonly fileType?: string }> }>
}

const countImages = (history: HistoryWithParts): number => {
  let images = 0
  for (const message of history.messages) {
    for (const part of message.content) if (part.type === "file" && part.fileType === "image") images++
  }
  return images
}

/** Fails with an `InvalidArgumentError` on `chat` when images would go to a model without vision. */
export const refuseImagesWithoutVision = (
  info: LlmInstanceInfo,
  history: HistoryWithParts
): Effect.Effect<void, InvalidArgumentError> => {
  if (info.vision) return Effect.void
  const images = countImages(history)
  return images === 0
    ? Effect.void
    : Effect.fail(
      new InvalidArgumentError({
        field: "chat",
        reason: `has ${images === 1 ? "an image" : `${images} images`}, but "${info.identifier}"` +
          `${info.modelKey === info.identifier ? "" : ` (${info.modelKey})`} ` +
          "is not a vision model; send images to a model whose info says vision: true, or leave them out"
      })
    )
}
