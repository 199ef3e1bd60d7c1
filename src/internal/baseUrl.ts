/**
 * `baseUrl` validation, the same rules as the official client.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import { InvalidArgumentError } from "../LMStudioError.js"

const invalid = (reason: string) => new InvalidArgumentError({ field: "baseUrl", reason })

/** Checks a user-given base URL before any I/O and returns it unchanged. */
export const validateBaseUrl = (baseUrl: string): Effect.Effect<string, InvalidArgumentError> =>
  Effect.suspend(() => {
    let url: URL
    try {
      url = new URL(baseUrl)
    } catch {
      // Not echoed: an unparsable URL may still carry credentials.
      return Effect.fail(invalid("is not a URL; expected something like ws://127.0.0.1:1234"))
    }
    if (url.protocol !== "ws:" && url.protocol !== "wss:") {
      return Effect.fail(invalid(`must start with ws:// or wss:// (got ${url.protocol}//); LM Studio's API is a WebSocket`))
    }
    if (url.search !== "" || baseUrl.includes("?")) return Effect.fail(invalid("must not contain a query string (?…)"))
    if (url.hash !== "" || baseUrl.includes("#")) return Effect.fail(invalid("must not contain a fragment (#…)"))
    if (url.username !== "" || url.password !== "") {
      return Effect.fail(invalid("must not contain a username or password; pass `apiToken` instead"))
    }
    if (baseUrl.endsWith("/")) return Effect.fail(invalid(`must not end with "/" (use ${baseUrl.replace(/\/+$/, "")})`))
    return Effect.succeed(baseUrl)
  })
