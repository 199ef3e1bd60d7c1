/**
 * The WebSocket implementation behind `@effect/platform`'s `Socket`: the `ws` package (8.x),
 * because Node 20 has no global WebSocket (style.md A2, pitfall 4).
 *
 * @internal
 */
import { type ClientOptions, WebSocket as WS } from "ws"

const options: ClientOptions & { readonly closeTimeout: number } = {
  // LM Studio frames are small JSON: compression costs more than it saves.
  perMessageDeflate: false,
  // Once the server has sent its close frame there is nothing left to wait for: `ws` would
  // otherwise keep the socket (and everything pending on it) for 30 s when the server does not
  // also close the TCP connection.
  closeTimeout: 0
}

/** Builds a `ws` socket for a namespace URL. */
export const makeWebSocket = (url: string | URL, protocols?: string | Array<string>): WS =>
  new WS(url, protocols, options)
