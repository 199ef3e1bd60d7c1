/**
 * A deliberately simple (and breakable) LM Studio-like server for protocol tests: a real `ws`
 * server on loopback whose reply to each frame is scripted by the test.
 */
import * as Effect from "effect/Effect"
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { type WebSocket, WebSocketServer } from "ws"

export interface Peer {
  readonly path: string
  readonly socket: WebSocket
  readonly received: Array<unknown>
  send(frame: unknown): void
  sendRaw(text: string): void
  /**
   * Sends a Close frame and then neither reads nor closes the TCP connection: a server (or proxy)
   * that never finishes the closing handshake.
   */
  sendCloseFrameOnly(code: number): void
}

export type Script = (peer: Peer, frame: unknown) => void

export interface ScriptedServer {
  readonly url: string
  readonly port: number
  readonly peers: Array<Peer>
  /** Every frame received on any socket, including auth packets, in arrival order. */
  readonly received: Array<{ path: string; frame: unknown }>
  connections: number
  script: Script
  /** Drop every open socket abruptly (no close frame). */
  dropAll(): void
}

/** Replies `{success:true}` to the auth packet, then hands every frame to `script`. */
export const acceptAll = (script: Script): Script => (peer, frame) => {
  if (typeof frame === "object" && frame !== null && "authVersion" in frame) return peer.send({ success: true })
  script(peer, frame)
}

export const listen = (script: Script, options: { port?: number; greeting?: boolean } = {}) =>
  Effect.acquireRelease(
    Effect.async<ScriptedServer>((resume) => {
      const http: Server = createServer((req, res) => {
        if (req.url === "/lmstudio-greeting" && options.greeting !== false) {
          res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ lmstudio: true }))
        } else res.writeHead(404).end()
      })
      const wss = new WebSocketServer({ server: http })
      const server: ScriptedServer & { http: Server; wss: WebSocketServer } = {
        url: "",
        port: 0,
        peers: [],
        received: [],
        connections: 0,
        script,
        http,
        wss,
        dropAll() {
          for (const peer of this.peers) peer.socket.terminate()
        }
      }
      wss.on("connection", (socket, request) => {
        server.connections++
        const peer: Peer = {
          path: request.url ?? "/",
          socket,
          received: [],
          send: (frame) => socket.send(JSON.stringify(frame)),
          sendRaw: (text) => socket.send(text),
          sendCloseFrameOnly: (code) => {
            const raw = (socket as unknown as { _socket: import("node:net").Socket })._socket
            raw.pause()
            raw.removeAllListeners("data")
            // FIN + opcode 8 (close), unmasked, 2-byte payload: the close code.
            raw.write(Buffer.from([0x88, 0x02, code >> 8, code & 0xff]))
          }
        }
        server.peers.push(peer)
        socket.on("message", (data) => {
          let frame: unknown
          try {
            frame = JSON.parse(data.toString())
          } catch {
            frame = data.toString()
          }
          peer.received.push(frame)
          server.received.push({ path: peer.path, frame })
          server.script(peer, frame)
        })
      })
      http.listen(options.port ?? 0, "127.0.0.1", () => {
        const port = (http.address() as AddressInfo).port
        Object.assign(server, { port, url: `ws://127.0.0.1:${port}` })
        resume(Effect.succeed(server))
      })
    }),
    (server) =>
      Effect.async<void>((resume) => {
        const s = server as ScriptedServer & { http: Server; wss: WebSocketServer }
        for (const client of s.wss.clients) client.terminate()
        s.wss.close()
        s.http.closeAllConnections()
        s.http.close(() => resume(Effect.void))
      })
  )

