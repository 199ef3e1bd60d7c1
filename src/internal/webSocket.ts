/**
 * The WebSocket implementation behind `@effect/platform`'s `Socket`: the `ws` package, because
 * Node 20 has no global WebSocket (style.md A2, pitfall 4).
 *
 * @internal
 */
import * as Socket from "@effect/platform/Socket"
import * as Layer from "effect/Layer"
import { WebSocket as WS } from "ws"

/** Builds `ws` sockets without per-message compression (LM Studio frames are small JSON). */
export const makeWebSocket = (url: string | URL, protocols?: string | Array<string>): WS =>
  new WS(url, protocols, { perMessageDeflate: false })

/** `Socket.WebSocketConstructor` backed by `ws`. */
export const layerWebSocketConstructor: Layer.Layer<Socket.WebSocketConstructor> = Layer.succeed(
  Socket.WebSocketConstructor,
  (url, protocols) => makeWebSocket(url, protocols) as unknown as globalThis.WebSocket
)
