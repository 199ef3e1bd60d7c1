/**
 * The two loading channels, `loadModel` and `getOrLoad`, and the
 * paced load both share.
 *
 * @internal
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import type { GetOrLoadParameter, LoadModelParameter } from "../../internal/protocol/modelManagement.js"
import type { ModelDomain, ModelInfo } from "../../ModelInfo.js"
import type { ChannelContext } from "./context.js"
import { ambiguousModel, domainMismatch, loadCancelled, pathNotFound, ServerFailure } from "./errors.js"
import { distinctKeys, instanceInfo, type InstanceRecord, instancesMatchingIdentifier, resolveModel } from "./models.js"
import {
  type CommitParams,
  commitInstance,
  instancesOf,
  releaseIdentifier,
  reserveIdentifier,
  type Sim,
  touchInstance,
  unloadInstance
} from "./state.js"

/** JIT instances get this idle TTL when `loadTtlMs` is absent [docs default; reported value inferred]. */
export const JIT_DEFAULT_TTL_MS = 3_600_000

const resolveDownloaded = (
  sim: Sim,
  domain: ModelDomain,
  request: string
): Effect.Effect<{ readonly model: ModelInfo; readonly ambiguous: ReadonlyArray<string> | undefined }, ServerFailure> => {
  const resolution = resolveModel(sim.options.catalog, domain, request)
  switch (resolution._tag) {
    case "Found":
      return Effect.succeed({ model: resolution.model, ambiguous: resolution.ambiguous })
    case "DomainMismatch":
      return Effect.fail(domainMismatch(request, resolution.model.type, domain))
    case "NotFound":
      return Effect.fail(pathNotFound(request, sim.options.catalog.filter((m) => m.type === domain)))
  }
}

/** Consumes a one-shot fault. */
const take = <K extends "dropAfterProgress" | "failNextLoad">(sim: Sim, key: K) =>
  Effect.sync(() => {
    const value = sim.state.faults[key]
    sim.state.faults[key] = null
    return value
  })

/**
 * The load itself: the scripted failure if armed, then `progressSteps` progress packets paced
 * `loadMs / progressSteps` apart on Effect's clock (no sleeps when `loadMs` is 0), then the
 * commit. Raced against the client's `cancel`, which ends the channel with
 * "Model loading was cancelled" and leaves nothing loaded.
 *
 * [inferred] The scripted failure strikes after `resolved` / `startLoading` and before any
 * progress; a load whose socket closes (client gone, or `dropAfterProgress`) is abandoned and
 * leaves nothing loaded.
 */
const runLoad = (
  ctx: ChannelContext,
  progressPacket: (progress: number) => unknown,
  params: CommitParams
): Effect.Effect<InstanceRecord, ServerFailure> => {
  const { sim } = ctx
  const load = Effect.gen(function*() {
    const failure = yield* take(sim, "failNextLoad")
    if (failure !== null) return yield* Effect.fail(new ServerFailure({ error: failure }))
    const dropAfter = yield* take(sim, "dropAfterProgress")
    const steps = Math.max(1, sim.options.progressSteps)
    const pause = sim.options.loadMs / steps
    if (dropAfter !== null && dropAfter <= 0) return yield* ctx.terminate
    for (let step = 1; step <= steps; step++) {
      if (pause > 0) yield* Effect.sleep(pause)
      yield* ctx.send(progressPacket(step / steps))
      // A drop count beyond the number of packets drops right after the last one.
      if (dropAfter !== null && (step === dropAfter || (step === steps && dropAfter > steps))) {
        return yield* ctx.terminate
      }
    }
    // A cancel that arrived during the last step wins: never commit a cancelled load.
    if (yield* Deferred.isDone(ctx.cancelled)) return yield* Effect.fail(loadCancelled)
    return yield* commitInstance(sim, params)
  })
  return Effect.raceFirst(
    load,
    Deferred.await(ctx.cancelled).pipe(Effect.zipRight(Effect.fail(loadCancelled)))
  )
}

/** `loadModel`: `resolved` → `progress`… → `success` (then the channel closes). */
export const loadModel = (ctx: ChannelContext, parameter: LoadModelParameter): Effect.Effect<void, ServerFailure> =>
  Effect.gen(function*() {
    const { sim } = ctx
    const domain = ctx.domain ?? "llm"
    const { ambiguous, model } = yield* resolveDownloaded(sim, domain, parameter.modelKey)
    // Default identifier: the resolved model key, not the requested string.
    const identifier = yield* reserveIdentifier(sim, parameter.identifier, model.modelKey)
    yield* Effect.gen(function*() {
      yield* ctx.send({ type: "resolved", info: model, ...(ambiguous !== undefined ? { ambiguous } : {}) })
      const record = yield* runLoad(ctx, (progress) => ({ type: "progress", progress }), {
        model,
        identifier,
        ttlMs: parameter.ttlMs ?? null,
        jit: false,
        loadConfigStack: parameter.loadConfigStack
      })
      yield* ctx.send({ type: "success", info: instanceInfo(record) })
    }).pipe(Effect.ensuring(releaseIdentifier(sim, identifier)))
  })

/**
 * `getOrLoad`: `alreadyLoaded` for an instance of this namespace matching by identifier, then by
 * key/path (first match; matches of different models are refused as ambiguous); otherwise evict other JIT instances (all namespaces, when auto-evict is
 * on) with `unloadingOtherJITModel`, then `startLoading` → `loadProgress`… → `loadSuccess`.
 * A `getOrLoad` for a string whose JIT load is already in progress waits for it and answers
 * `alreadyLoaded` instead of loading a second instance [inferred].
 */
export const getOrLoad = (ctx: ChannelContext, parameter: GetOrLoadParameter): Effect.Effect<void, ServerFailure> =>
  Effect.gen(function*() {
    const { sim } = ctx
    const domain = ctx.domain ?? "llm"
    const pendingKey = `${domain}/${parameter.identifier}`
    while (true) {
      const matching = instancesMatchingIdentifier(parameter.identifier, instancesOf(sim, domain))
      const keys = distinctKeys(matching.map((record) => record.model))
      if (keys.length > 1) return yield* Effect.fail(ambiguousModel(parameter.identifier, keys))
      const [existing] = matching
      if (existing !== undefined) {
        yield* touchInstance(sim, existing) // [inferred] a get counts as use
        yield* ctx.send({ type: "alreadyLoaded", info: instanceInfo(existing) })
        return
      }
      const pending = sim.state.pendingJit.get(pendingKey)
      if (pending === undefined) break
      yield* Effect.raceFirst(
        Deferred.await(pending),
        Deferred.await(ctx.cancelled).pipe(Effect.zipRight(Effect.fail(loadCancelled)))
      )
    }
    const { ambiguous, model } = yield* resolveDownloaded(sim, domain, parameter.identifier)
    // No `resolved` packet here to report an ambiguity in: refuse it.
    if (ambiguous !== undefined) return yield* Effect.fail(ambiguousModel(parameter.identifier, ambiguous))
    // New JIT identifier: the requested string; `:n` suffix if taken [inferred].
    const identifier = yield* reserveIdentifier(sim, undefined, parameter.identifier)
    const done = yield* Deferred.make<InstanceRecord | null>()
    yield* Effect.sync(() => sim.state.pendingJit.set(pendingKey, done))
    const finish = (record: InstanceRecord | null) =>
      Effect.zipRight(
        Effect.sync(() => {
          if (sim.state.pendingJit.get(pendingKey) === done) sim.state.pendingJit.delete(pendingKey)
        }),
        Deferred.succeed(done, record)
      )
    yield* Effect.gen(function*() {
      if (sim.options.jitAutoEvict) {
        const others = yield* Effect.sync(() => sim.state.instances.filter((i) => i.jit))
        for (const other of others) {
          if (yield* unloadInstance(sim, other)) {
            yield* ctx.send({ type: "unloadingOtherJITModel", info: instanceInfo(other) })
          }
        }
      }
      yield* ctx.send({ type: "startLoading", identifier, info: model })
      const record = yield* runLoad(ctx, (progress) => ({ type: "loadProgress", progress }), {
        model,
        identifier,
        ttlMs: parameter.loadTtlMs ?? JIT_DEFAULT_TTL_MS,
        jit: true,
        loadConfigStack: parameter.loadConfigStack
      })
      yield* finish(record)
      yield* ctx.send({ type: "loadSuccess", info: instanceInfo(record) })
    }).pipe(
      Effect.onExit((exit) => exit._tag === "Failure" ? finish(null) : Effect.void),
      Effect.ensuring(releaseIdentifier(sim, identifier))
    )
  })
