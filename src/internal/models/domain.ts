/**
 * What model management needs to know about a domain (`llm`, `embedding`), and the client-wide
 * defaults of its operations.
 *
 * @internal
 */
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Either from "effect/Either"
import type * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type { InvalidArgumentError } from "../../LMStudioError.js"
import type * as Api from "../../ModelNamespace.js"
import type { HandleContext, OperationDefaults } from "../handleContext.js"
import * as FastDecode from "../protocol/fastDecode.js"
import type { KVConfig, KVConfigField } from "../protocol/kvConfig.js"
import { loadPacket, type LoadPacket } from "../protocol/loadPackets.js"

/** What every instance info has, whatever its domain. */
export interface InstanceInfoBase {
  readonly identifier: string
  readonly modelKey: string
  readonly instanceReference: string
  readonly contextLength: number
}

/** A domain's decoders, compiled once when the domain is defined. */
export interface Decoders<Info, InstanceInfo> {
  readonly packet: (u: unknown) => Either.Either<LoadPacket<Info, InstanceInfo>, ParseResult.ParseError>
  readonly instance: (u: unknown) => Effect.Effect<InstanceInfo, ParseResult.ParseError>
  readonly instances: (u: unknown) => Effect.Effect<ReadonlyArray<InstanceInfo>, ParseResult.ParseError>
  readonly infos: (u: unknown) => Effect.Effect<ReadonlyArray<Info>, ParseResult.ParseError>
}

/** Compiles a domain's decoders (done once per domain, at module load). */
export const compileDecoders = <Info, InstanceInfo>(
  info: Schema.Schema<Info, any, never>,
  instanceInfo: Schema.Schema<InstanceInfo, any, never>
): Decoders<Info, InstanceInfo> => ({
  packet: FastDecode.decodeUnknownEither(loadPacket(info, instanceInfo)),
  instance: FastDecode.decodeUnknown(instanceInfo),
  instances: FastDecode.decodeUnknown(Schema.Array(instanceInfo)),
  infos: FastDecode.decodeUnknown(Schema.Array(info))
})

/** Everything that differs between the LLM and embedding domains. */
export interface Domain<Info, InstanceInfo extends InstanceInfoBase, Config, Handle> {
  readonly name: "llm" | "embedding"
  /** How a person calls a model of this domain: "LLM", "embedding model". */
  readonly noun: string
  readonly decoders: Decoders<Info, InstanceInfo>
  readonly isInfo: (u: unknown) => boolean
  readonly validateConfig: (config: unknown) => Effect.Effect<Config, InvalidArgumentError>
  readonly configToFields: (config: Config) => ReadonlyArray<KVConfigField>
  readonly configFromKV: (kv: KVConfig) => Config
  readonly contextLengthKey: string
  /** The `_tag` of this domain's handles. */
  readonly handleTag: Handle extends { readonly _tag: infer Tag } ? Tag : never
  /** The operations this domain adds to its handles (respond, embed, tokenize, …). */
  readonly operations: (context: HandleContext<InstanceInfo>) => Omit<Handle, keyof Api.ModelHandle<InstanceInfo, Config> | "_tag">
}

/** Client-wide defaults that each call may override. */
export interface Defaults {
  readonly ttl: Duration.DurationInput | undefined
  readonly loadInactivityTimeout: Duration.Duration
  /** How long the background cleanup of a cancelled load waits for the server to end it. */
  readonly cancelGrace: Duration.Duration
  /** How long the cancelling caller itself waits for that cleanup. */
  readonly cancelWait: Duration.Duration
  /** How long closing a scope waits to unload the instance it owns. */
  readonly releaseTimeout: Duration.Duration
  /** Defaults of the handles' operations. */
  readonly operations: OperationDefaults
}
