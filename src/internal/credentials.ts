/**
 * Client credentials for the auth packet: an API token split into its
 * identifier and passkey, an explicit legacy pair, or a random guest pair. The passkey stays
 * `Redacted` until the auth frame is encoded.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { randomBytes } from "node:crypto"
import { InvalidArgumentError } from "../LMStudioError.js"

export interface Credentials {
  readonly clientIdentifier: string
  readonly clientPasskey: Redacted.Redacted<string>
}

/** `sk-lm-` + 8 letters/digits (the identifier) + `:` + 20 letters/digits (the passkey). */
export const API_TOKEN = /^sk-lm-([A-Za-z0-9]{8}):([A-Za-z0-9]{20})$/

/** Splits an `sk-lm-XXXXXXXX:YYYYYYYYYYYYYYYYYYYY` token; the error never echoes the token. */
export const fromApiToken = (
  token: Redacted.Redacted<string> | string
): Effect.Effect<Credentials, InvalidArgumentError> =>
  Effect.suspend(() => {
    const value = (typeof token === "string" ? token : Redacted.value(token)).trim()
    const match = API_TOKEN.exec(value)
    if (match === null || match[1] === undefined || match[2] === undefined) {
      return Effect.fail(
        new InvalidArgumentError({
          field: "apiToken",
          reason: "is not an LM Studio API token: expected sk-lm- then 8 letters or digits, a colon, and 20 " +
            "letters or digits (copy it again from LM Studio's Developer settings)"
        })
      )
    }
    return Effect.succeed({ clientIdentifier: match[1], clientPasskey: Redacted.make(match[2]) })
  })

/** A random guest pair, like the official client's (`guest:` prefix as in current releases). */
export const guest = (): Credentials => ({
  clientIdentifier: `guest:${randomBytes(18).toString("base64")}`,
  clientPasskey: Redacted.make(randomBytes(18).toString("base64"))
})

const checkLegacy = (field: string, value: string) =>
  value.length === 0 || value.length > 256
    ? Effect.fail(new InvalidArgumentError({ field, reason: "must be 1 to 256 characters" }))
    : Effect.void

/** Validates an explicit legacy identifier/passkey pair. */
export const fromLegacy = (
  clientIdentifier: string,
  clientPasskey: Redacted.Redacted<string> | string
): Effect.Effect<Credentials, InvalidArgumentError> => {
  const passkey = typeof clientPasskey === "string" ? Redacted.make(clientPasskey) : clientPasskey
  return Effect.as(
    Effect.zipRight(checkLegacy("clientIdentifier", clientIdentifier), checkLegacy("clientPasskey", Redacted.value(passkey))),
    { clientIdentifier, clientPasskey: passkey }
  )
}
