/**
 * Test wiring: a simulator on a loopback port and an lmstudio-effect client pointed at it.
 */
import { assert } from "@effect/vitest"
import * as Effect from "effect/Effect"
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

/** Waits (up to ~2 s) until the simulator's loaded set equals `expected`; cleanup is asynchronous. */
export const settle = (sim: LMStudioSimulator.LMStudioSimulator.Service, expected: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const want = JSON.stringify([...expected].sort())
    for (let i = 0; i < 200; i++) {
      if (JSON.stringify(yield* loadedIds(sim)) === want) return
      yield* Effect.sleep("10 millis")
    }
    assert.deepStrictEqual(yield* loadedIds(sim), [...expected].sort())
  })
