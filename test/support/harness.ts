/**
 * Test wiring: a simulator on a loopback port and an lmstudio-effect client pointed at it.
 */
import { assert } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { LMStudioClient } from "../../src/index.js"
import type { Options } from "../../src/LMStudioClient.js"
import { LMStudioSimulator } from "../../src/testing/index.js"

export const LLAMA = "llama-3.2-1b-instruct"
export const QWEN = "qwen2.5-7b-instruct"
export const NOMIC = "text-embedding-nomic-embed-text-v1.5"

export const setup = (
  simulator: LMStudioSimulator.SimulatorOptions = {},
  client: Omit<Options, "baseUrl"> = {}
) =>
  Effect.gen(function*() {
    const sim = yield* LMStudioSimulator.make({ loadMs: 20, progressSteps: 5, ...simulator })
    const lms = yield* LMStudioClient.make({ baseUrl: sim.url, ...client })
    return { sim, client: lms }
  })

type Frame = { readonly type?: string; readonly endpoint?: string; readonly [key: string]: unknown }

/** Frames the client sent (not the auth packets), optionally only those of one type. */
export const sent = (sim: LMStudioSimulator.LMStudioSimulator.Service, type?: string) =>
  Effect.map(sim.traffic, (entries) =>
    entries
      .filter((e) => e.direction === "in")
      .map((e) => e.frame as Frame)
      .filter((f) => typeof f === "object" && f !== null && "type" in f)
      .filter((f) => type === undefined || f.type === type))

/** Identifiers the simulator has loaded, sorted. */
export const loadedIds = (sim: LMStudioSimulator.LMStudioSimulator.Service) =>
  Effect.map(sim.loaded, (infos) => infos.map((i) => i.identifier).sort())

/**
 * Waits until the simulator's loaded set is `expected` (cleanup after a cancelled load runs in
 * the background): it watches the simulator's `loadedChanges`; if the set never becomes
 * `expected` within 5 s (live clock), it fails showing the last set seen.
 */
export const settle = (sim: LMStudioSimulator.LMStudioSimulator.Service, expected: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const want = [...expected].sort()
    const ids = (infos: ReadonlyArray<{ readonly identifier: string }>) => infos.map((i) => i.identifier).sort()
    const reached = yield* sim.loadedChanges.pipe(
      Stream.map(ids),
      Stream.filter((seen) => JSON.stringify(seen) === JSON.stringify(want)),
      Stream.runHead,
      Effect.timeoutOption("5 seconds"),
      Effect.withClock(Clock.make()),
      Effect.map(Option.flatten)
    )
    if (Option.isNone(reached)) assert.deepStrictEqual(yield* loadedIds(sim), want, "the loaded set never became the expected one")
  })
