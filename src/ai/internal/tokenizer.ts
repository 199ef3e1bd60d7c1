/**
 * The `Tokenizer` service over an LLM's handle: the prompt formatted with the model's chat
 * template (`applyPromptTemplate`), then tokenized with its tokenizer.
 *
 * @internal
 */
import * as Tokenizer from "@effect/ai/Tokenizer"
import * as Effect from "effect/Effect"
import type { FilesNamespace } from "../../Files.js"
import type { LlmHandle } from "../../Llm.js"
import { toAiError } from "./errors.js"
import type { HandleCache } from "./handleCache.js"
import { promptToChat } from "./prompt.js"

const MODULE = "LMStudioTokenizer"

export const tokenizerService = (cache: HandleCache<LlmHandle>, files: FilesNamespace): Tokenizer.Service =>
  Tokenizer.make({
    tokenize: (prompt) =>
      Effect.flatMap(promptToChat(prompt, files, MODULE, "tokenize"), (chat) =>
        cache.use((handle) => Effect.flatMap(handle.applyPromptTemplate(chat), (text) => handle.tokenize(text))).pipe(
          Effect.map((tokens) => [...tokens]),
          Effect.mapError(toAiError(MODULE, "tokenize"))
        ))
  })
