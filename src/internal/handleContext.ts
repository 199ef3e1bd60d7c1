/**
 * What a handle's operations (respond, embed, tokenize, …) need to reach their instance: the
 * domain's socket, the `files` socket, the instance's specifier and the client's defaults.
 *
 * This is the seam between model management (which makes handles) and the inference modules
 * (which give handles their operations): `Domain.operations(context)` returns the members a
 * domain adds to its handles.
 *
 * @internal
 */
import type * as Duration from "effect/Duration"
import type { ModelNotFoundError } from "../LMStudioError.js"
import type { Inactivity } from "./models/inactivity.js"
import type { Port } from "./port.js"

/** Addresses exactly one instance (never another instance that reuses its identifier). */
export interface InstanceSpecifier {
  readonly type: "instanceReference"
  readonly instanceReference: string
}

/** Client-wide defaults of handle operations; each call may override them. */
export interface OperationDefaults {
  /** A prediction that receives no packet for this long is cancelled and fails. */
  readonly predictionInactivityTimeout: Duration.Duration
  /** How many `embedString` calls one `embed(texts)` keeps in flight. */
  readonly embedConcurrency: number
}

/** Everything an operation on one handle needs. */
export interface HandleContext<InstanceInfo> {
  readonly domain: "llm" | "embedding"
  /** The socket of the handle's domain (`/llm` or `/embedding`). */
  readonly port: Port
  /** The `/files` socket (image uploads). */
  readonly files: Port
  /** What the server reported when the handle was made. */
  readonly info: InstanceInfo
  readonly specifier: InstanceSpecifier
  readonly defaults: OperationDefaults
  /**
   * The namespace's inactivity sweeper (on the client's `Clock`): operations with a deadline
   * (predictions) register with it instead of running a timer each.
   */
  readonly inactivity: Inactivity
  /** The error for "this handle's instance is gone". */
  readonly gone: () => ModelNotFoundError
}
