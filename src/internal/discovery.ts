/**
 * Local discovery (lmstudio-protocol.md §1.2): probe LM Studio's greeting endpoint on the known
 * ports concurrently; the first that answers `{"lmstudio":true}` wins.
 *
 * @internal
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { ConnectionError } from "../LMStudioError.js"

/** The ports LM Studio's API may listen on, in the official clients' order. */
export const DEFAULT_DISCOVERY_PORTS: ReadonlyArray<number> = [41343, 52993, 16141, 39414, 22931]

const Greeting = Schema.Struct({ lmstudio: Schema.Literal(true) })

const greetingUrl = (host: string, port: number) => `http://${host}:${port}/lmstudio-greeting`

const probe = (host: string, port: number, timeout: Duration.Duration) =>
  HttpClient.get(greetingUrl(host, port)).pipe(
    Effect.filterOrFail((response) => response.status === 200, () => "not LM Studio" as const),
    Effect.flatMap((response) => response.json),
    Effect.flatMap(Schema.decodeUnknown(Greeting)),
    Effect.timeout(timeout),
    Effect.as(`ws://${host}:${port}`)
  )

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
    Effect.provide(FetchHttpClient.layer),
    Effect.withSpan("LMStudio.discover", { attributes: { "lmstudio.discovery_ports": ports.join(",") } })
  )
}
