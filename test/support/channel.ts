/**
 * A port channel for the life of the test's scope (the port itself only has the unscoped form,
 * which is what the namespaces use).
 */
import * as Effect from "effect/Effect"
import type { ChannelOptions, Port } from "../../src/internal/port.js"

export const openChannel = (port: Port, endpoint: string, creationParameter: unknown, options?: ChannelOptions) =>
  Effect.acquireRelease(port.openChannelUnscoped(endpoint, creationParameter, options), (channel) => channel.close)
