/**
 * A simulator and a client for `@effect/ai` provider tests, and a way to give provider layers
 * that client.
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { LMStudioClient } from "lmstudio-effect"
import { LMStudioSimulator } from "lmstudio-effect/testing"

/** A scoped simulator (instant loads and tokens unless told otherwise), a client of it, and `provide`. */
export const aiSimulator = (options: LMStudioSimulator.SimulatorOptions = {}) =>
  Effect.gen(function*() {
    const sim = yield* LMStudioSimulator.make({ loadMs: 0, tokenMs: 0, ...options })
    const client = yield* LMStudioClient.make({ baseUrl: sim.url })
    const provide = <A>(layer: Layer.Layer<A, never, LMStudioClient>) =>
      Layer.provide(layer, Layer.succeed(LMStudioClient, client))
    return { sim, client, provide }
  })

/** The frames the simulator received on an endpoint, oldest first. */
export const received = (sim: LMStudioSimulator.LMStudioSimulator.Service, endpoint: string) =>
  Effect.map(sim.traffic, (traffic) =>
    traffic.flatMap((entry) =>
      entry.direction === "in" && (entry.frame as { endpoint?: unknown }).endpoint === endpoint
        ? [entry.frame as { readonly parameter?: any; readonly creationParameter?: any }]
        : []
    ))
