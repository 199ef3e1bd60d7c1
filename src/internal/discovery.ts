/**
 * Local discovery: probe LM Studio's greeting endpoint on the known
 * ports concurrently; the first that answers `{"lmstudio":true}` wins.
 *
 * Uses the platform's `fetch` directly (Node ≥ 18): one GET per port does not justify loading an
 * HTTP client stack at import time.
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { ConnectionError } from "../LMStudioError.js"

/** The ports LM Studio's API may listen on, in the official clients' order. */
export const DEFAULT_DISCOVERY_PORTS: ReadonlyArray<number> = [41343, 52993, 16141, 39414, 22931]

const Greeting = Schema.Struct({ lmstudio: Schema.Literal(true) })
const isGreeting = Schema.is(Greeting)

const greetingUrl = (host: string, port: number) => `http://${host}:${port}/lmstudio-greeting`

const probe = (host: string, port: number, timeout: Duration.Duration) =>
  Effect.tryPromise({
    try: async (signal) => {
      const response = await fetch(greetingUrl(host, port), { signal })
      if (response.status !== 200) throw new Error(`status ${response.status}`)
      if (!isGreeting(await response.json())) throw new Error("not LM Studio")
      return `ws://${host}:${port}`
    },
    catch: (cause) => cause
  }).pipe(Effect.timeout(timeout))

/** Finds a local LM Studio; fails with a `ConnectionError` naming every URL tried. */
export const discover = (
  ports: ReadonlyArray<number>,
  options: { readonly host?: string; readonly timeout?: Duration.DurationInput } = {}
): Effect.Effect<string, ConnectionError> => {
  const host = options.host ?? "127.0.0.1"
  const timeout = Duration.decode(options.timeout ?? "1 second")
  const tried = ports.map((port) => greetingUrl(host, port))
  const notFound = new ConnectionError({ reason: "Unreachable", url: tried[0] ?? `http://${host}`, tried })
  if (ports.length === 0) return Effect.fail(notFound)
  return Effect.raceAll(ports.map((port) => probe(host, port, timeout))).pipe(
    Effect.mapError(() => notFound),
    Effect.withSpan("LMStudio.discover", {
      attributes: { "lmstudio.discovery_ports": ports.join(",") },
      captureStackTrace: false
    })
  )
}
