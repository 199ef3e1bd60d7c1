/**
 * The HTTP + WebSocket server on one port: `GET /lmstudio-greeting` and WebSocket upgrades
 * on `<any prefix>/<namespace>`. It can be stopped and restarted on the same port while
 * the simulator's state lives on.
 *
 * @internal
 */
import * as Http from "node:http"
import type { Duplex } from "node:stream"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { type WebSocket, WebSocketServer } from "ws"
import { knownNamespaces } from "./endpoints.js"
import { SimulatorError } from "./simulatorError.js"
import type { Sim } from "./state.js"

/** The running listener. */
export interface Listener {
  /** The bound port (fixed at the first start, reused by later starts). */
  readonly port: number
  /** Terminates every socket and closes the listening server (idempotent). */
  readonly stop: Effect.Effect<void>
  /** Listens again on the same port (idempotent). */
  readonly start: Effect.Effect<void, SimulatorError>
}

const namespaceOf = (url: string | undefined): string => {
  const path = (url ?? "/").split("?")[0] ?? "/"
  const segments = path.split("/").filter((s) => s.length > 0)
  return segments[segments.length - 1] ?? ""
}

const reject = (socket: Duplex, status: string) => {
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`)
}

/**
 * Creates the listener and starts it; the scope's finalizer stops it. `onConnection` gets each
 * upgraded socket already paused.
 */
export const makeListener = (
  sim: Sim,
  onConnection: (ws: WebSocket, namespace: string) => void
): Effect.Effect<Listener, SimulatorError, Scope.Scope> =>
  Effect.gen(function*() {
    const wss = new WebSocketServer({ noServer: true, clientTracking: true })
    let port = sim.options.port
    let current: Http.Server | null = null

    const createServer = (): Http.Server => {
      const server = Http.createServer((req, res) => {
        const path = (req.url ?? "/").split("?")[0]
        if (req.method === "GET" && path === "/lmstudio-greeting") {
          res.writeHead(200, { "content-type": "application/json" })
          res.end(JSON.stringify({ lmstudio: true }))
          return
        }
        res.writeHead(404, { "content-type": "text/plain" })
        res.end("Not found")
      })
      server.on("upgrade", (req, socket, head) => {
        const namespace = namespaceOf(req.url)
        if (!knownNamespaces.has(namespace)) return reject(socket, "404 Not Found") // [inferred]
        wss.handleUpgrade(req, socket, head, (ws) => {
          // An upgrade that completes after `stop` would otherwise outlive it (and hold up `wss.close`).
          if (current !== server) return ws.terminate()
          ws.pause()
          onConnection(ws, namespace)
        })
      })
      return server
    }

    const start = Effect.suspend(() => {
      if (current !== null) return Effect.void
      const server = createServer()
      current = server
      return Effect.async<void, SimulatorError>((resume) => {
        const onError = (error: NodeJS.ErrnoException) => {
          current = null
          const where = `${sim.options.host}:${port}`
          resume(Effect.fail(
            new SimulatorError({
              reason: "ListenFailed",
              message: error.code === "EADDRINUSE"
                ? `Cannot listen on ${where}: the port is already in use (by LM Studio, or another simulator?). ` +
                  "Stop it or choose another port (0 picks a free one)."
                : `Cannot listen on ${where}: ${error.message}`
            })
          ))
        }
        server.once("error", onError)
        server.listen(port, sim.options.host, () => {
          server.off("error", onError)
          const address = server.address()
          if (address !== null && typeof address === "object") port = address.port
          resume(Effect.void)
        })
      })
    })

    const stop = Effect.suspend(() => {
      const server = current
      if (server === null) return Effect.void
      current = null
      return Effect.async<void>((resume) => {
        // Every upgraded socket, including any whose handler fiber has not started yet.
        for (const ws of wss.clients) ws.terminate()
        server.close(() => resume(Effect.void))
        server.closeAllConnections()
      })
    })

    // `wss.close` is not awaited: its callback waits for every client's "close" event, which a
    // socket terminated while still paused (upgraded, handler fiber not started yet) may never
    // emit — that hung shutdown now and then, so a second Ctrl-C was needed. `stop` has already
    // destroyed every socket and closed the port; nothing else is left to wait for.
    yield* Effect.acquireRelease(start, () =>
      Effect.zipRight(
        stop,
        Effect.sync(() => wss.close())
      ))

    return {
      get port() {
        return port
      },
      start,
      stop
    }
  })
