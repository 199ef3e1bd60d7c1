/**
 * The simulator's state and the operations on it. The state is a plain object mutated only
 * inside `Effect.sync` blocks, so every operation is atomic with respect to other fibers.
 * Idle-TTL timers are fibers in a `FiberMap` keyed by instance reference and sleep on Effect's
 * `Clock`, so `TestClock` drives them.
 *
 * @internal
 */
import { randomBytes } from "node:crypto"
import * as Clock from "effect/Clock"
import type * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as FiberMap from "effect/FiberMap"
import type { WebSocket } from "ws"
import type { KVConfigField, KVConfigStack } from "../../internal/protocol/kvConfig.js"
import type { AuthPacket } from "../../internal/protocol/messages.js"
import type { ModelSpecifier } from "../../internal/protocol/modelManagement.js"
import type { SerializedError } from "../../internal/protocol/serializedError.js"
import type { ModelDomain, ModelInfo } from "../../ModelInfo.js"
import type { StoredFile } from "./files.js"
import type { TrafficEntry, TrafficLog } from "./trafficLog.js"
import { identifierAlreadyExists, type ServerFailure } from "./errors.js"
import {
  allocateIdentifier,
  effectiveLoadConfig,
  type InstanceRecord,
  instancesMatchingIdentifier,
  matchesQuery
} from "./models.js"

export type { TrafficEntry } from "./trafficLog.js"

/** An open WebSocket as the registry sees it. */
export interface ConnectionEntry {
  readonly id: number
  readonly namespace: string
  readonly ws: WebSocket
  authenticated: boolean
}

/** Options after defaults are applied and the API token is parsed. */
export interface ResolvedOptions {
  readonly host: string
  readonly port: number
  readonly catalog: ReadonlyArray<ModelInfo>
  readonly token: { readonly identifier: string; readonly passkey: string } | undefined
  readonly loadMs: number
  readonly progressSteps: number
  readonly jitAutoEvict: boolean
  readonly version: { readonly version: string; readonly build: number }
  /** How many frames the traffic log keeps. */
  readonly trafficLogSize: number
  /** Embedding dimension by model key (embedding models only). */
  readonly embeddingDimensions: ReadonlyMap<string, number>
  /** Milliseconds per generated token (0: no sleeps). */
  readonly tokenMs: number
  /** Presets a prediction can name with `fuzzyPresetIdentifier`. */
  readonly presets: ReadonlyArray<SimulatedPreset>
}

/** A prediction preset the simulator knows (its fields sit under the request's own). */
export interface SimulatedPreset {
  readonly identifier: string
  readonly name: string
  readonly fields: ReadonlyArray<KVConfigField>
}

/** A scripted failure of the next prediction, striking once `afterFragments` fragments are out. */
export interface PredictionFault {
  readonly kind: "stall" | "fail" | "drop"
  readonly afterFragments: number
}

/** Scripted faults; each one-shot fault is consumed by the first operation it applies to. */
export interface FaultState {
  dropAfterProgress: number | null
  delayMs: number | null
  failNextLoad: SerializedError | null
  refuseAuth: string | null
  revoked: boolean
  readonly hung: Set<string>
  predictionFault: PredictionFault | null
  /** The next prediction sends a packet of an unknown type after this many fragments. */
  unknownPacketAfter: number | null
}

/** Mutable state. Touch only inside `Effect.sync`. */
export class SimState {
  readonly instances: Array<InstanceRecord> = []
  readonly reservations = new Set<string>()
  readonly traffic: TrafficLog
  readonly connections = new Map<number, ConnectionEntry>()
  readonly guestPasskeys = new Map<string, string>()
  /** Uploaded files by identifier, oldest first. */
  readonly files = new Map<string, StoredFile>()
  fileSequence = 0
  /** JIT loads in progress, by `<domain>/<requested identifier>`: what a concurrent `getOrLoad` waits for. */
  readonly pendingJit = new Map<string, Deferred.Deferred<InstanceRecord | null>>()
  nextConnectionId = 1
  /** Predictions generating right now (between their first check and their `success`). */
  activePredictions = 0
  readonly faults: FaultState = {
    dropAfterProgress: null,
    delayMs: null,
    failNextLoad: null,
    refuseAuth: null,
    revoked: false,
    hung: new Set(),
    predictionFault: null,
    unknownPacketAfter: null
  }

  constructor(traffic: TrafficLog) {
    this.traffic = traffic
  }

  /** Told after every change of `instances` (the simulator's `loadedChanges` stream). */
  readonly loadedListeners = new Set<() => void>()

  add(record: InstanceRecord): void {
    this.instances.push(record)
    for (const listener of this.loadedListeners) listener()
  }

  isTaken(identifier: string): boolean {
    return this.reservations.has(identifier) || this.instances.some((i) => i.identifier === identifier)
  }

  remove(record: InstanceRecord): boolean {
    const index = this.instances.indexOf(record)
    if (index < 0) return false
    this.instances.splice(index, 1)
    for (const listener of this.loadedListeners) listener()
    return true
  }
}

/** Everything the handlers need: options, state and the TTL timers. */
export interface Sim {
  readonly options: ResolvedOptions
  readonly state: SimState
  readonly timers: FiberMap.FiberMap<string>
}

/** Loaded instances of one domain (all of them when `domain` is undefined), in load order. */
export const instancesOf = (sim: Sim, domain: ModelDomain | undefined): ReadonlyArray<InstanceRecord> =>
  domain === undefined ? [...sim.state.instances] : sim.state.instances.filter((i) => i.model.type === domain)

/**
 * The instance a specifier designates within a namespace. For a query, the
 * `identifier` tiers of {@link instancesMatchingIdentifier} apply and the first match in load
 * order wins [inferred order].
 */
export const findBySpecifier = (
  sim: Sim,
  domain: ModelDomain | undefined,
  specifier: ModelSpecifier
): InstanceRecord | undefined => {
  if (specifier.type === "instanceReference") {
    return instancesOf(sim, domain).find((i) => i.instanceReference === specifier.instanceReference)
  }
  const { query } = specifier
  const candidates = instancesOf(sim, domain).filter((i) => matchesQuery(i, query))
  return query.identifier === undefined ? candidates[0] : instancesMatchingIdentifier(query.identifier, candidates)[0]
}

/**
 * Reserves an identifier for a load in progress. An explicit identifier must be unused by any
 * instance or load in progress in any namespace (uniqueness across namespaces is
 * [inferred]); otherwise `base`, `base:2`, … is allocated.
 */
export const reserveIdentifier = (
  sim: Sim,
  explicit: string | undefined,
  base: string
): Effect.Effect<string, ServerFailure> =>
  Effect.suspend(() => {
    const state = sim.state
    if (explicit !== undefined) {
      if (state.isTaken(explicit)) return Effect.fail(identifierAlreadyExists(explicit))
      state.reservations.add(explicit)
      return Effect.succeed(explicit)
    }
    const identifier = allocateIdentifier(base, (id) => state.isTaken(id))
    state.reservations.add(identifier)
    return Effect.succeed(identifier)
  })

/** Frees a reservation (a no-op once the load has committed). */
export const releaseIdentifier = (sim: Sim, identifier: string): Effect.Effect<void> =>
  Effect.sync(() => {
    sim.state.reservations.delete(identifier)
  })

const startTimer = (sim: Sim, record: InstanceRecord): Effect.Effect<void> => {
  const ttl = record.ttlMs
  if (ttl === null) return Effect.void
  // The expiring fiber removes the instance itself; it must not remove its own FiberMap entry
  // (that would interrupt it). FiberMap drops finished fibers on its own.
  const expire = Effect.sync(() => {
    sim.state.remove(record)
  })
  return FiberMap.run(sim.timers, record.instanceReference, Effect.sleep(ttl).pipe(Effect.zipRight(expire))).pipe(
    Effect.asVoid
  )
}

/** Parameters of a finished load. */
export interface CommitParams {
  readonly model: ModelInfo
  readonly identifier: string
  readonly ttlMs: number | null
  readonly jit: boolean
  readonly loadConfigStack: KVConfigStack
}

/**
 * Turns a reservation into a loaded instance and arms its idle timer, atomically.
 * `lastUsedTime` starts as `null` (as in the doc's "simulator-safe" example) [inferred].
 */
export const commitInstance = (sim: Sim, params: CommitParams): Effect.Effect<InstanceRecord> =>
  Effect.uninterruptible(
    Effect.gen(function*() {
      const { config, contextLength } = effectiveLoadConfig(params.model, params.loadConfigStack)
      const record: InstanceRecord = {
        model: params.model,
        identifier: params.identifier,
        instanceReference: randomBytes(12).toString("base64url"),
        ttlMs: params.ttlMs,
        lastUsedTime: null,
        contextLength,
        loadConfig: config,
        jit: params.jit
      }
      yield* Effect.sync(() => {
        sim.state.reservations.delete(params.identifier)
        sim.state.add(record)
      })
      yield* startTimer(sim, record)
      return record
    })
  )

/** Unloads an instance and stops its idle timer. Returns whether it was loaded. */
export const unloadInstance = (sim: Sim, record: InstanceRecord): Effect.Effect<boolean> =>
  Effect.sync(() => sim.state.remove(record)).pipe(
    Effect.tap(() => FiberMap.remove(sim.timers, record.instanceReference))
  )

/**
 * Marks an instance as used: `lastUsedTime` becomes now and the idle timer restarts.
 * Which calls count as use is [inferred]: predictions, `tokenize`, `countTokens`,
 * `embedString`, `applyPromptTemplate`, and a `getOrLoad` answered with `alreadyLoaded`.
 */
export const touchInstance = (sim: Sim, record: InstanceRecord): Effect.Effect<void> =>
  Effect.gen(function*() {
    const now = yield* Clock.currentTimeMillis
    const loaded = yield* Effect.sync(() => {
      record.lastUsedTime = now
      return sim.state.instances.includes(record)
    })
    if (loaded) yield* startTimer(sim, record)
  })

/**
 * Decides an authentication attempt; `undefined` means accepted. Refusal wording is
 * [inferred] except the guest-passkey one, which is the reference server's.
 */
export const authorize = (sim: Sim, auth: AuthPacket): Effect.Effect<string | undefined> =>
  Effect.sync(() => {
    const { faults, guestPasskeys } = sim.state
    if (faults.refuseAuth !== null) return faults.refuseAuth
    const token = sim.options.token
    if (token !== undefined) {
      if (faults.revoked) return "Failed to validate client: The API token has been revoked"
      if (auth.clientIdentifier !== token.identifier) {
        return `Failed to validate client: Unknown client "${auth.clientIdentifier}"`
      }
      if (auth.clientPasskey !== token.passkey) {
        return `Failed to validate client: Invalid client passkey for client "${auth.clientIdentifier}"`
      }
      return undefined
    }
    if (faults.revoked) return "Failed to validate client: Access has been revoked"
    // The reference "first-come-first-served" authenticator [inferred to be LM Studio's].
    const known = guestPasskeys.get(auth.clientIdentifier)
    if (known !== undefined && known !== auth.clientPasskey) {
      return `Failed to validate client: Invalid client passkey for client "${auth.clientIdentifier}"`
    }
    guestPasskeys.set(auth.clientIdentifier, auth.clientPasskey)
    return undefined
  })

/** Appends to the traffic log. */
export const logTraffic = (sim: Sim, entry: TrafficEntry): Effect.Effect<void> =>
  Effect.sync(() => {
    sim.state.traffic.push(entry)
  })
