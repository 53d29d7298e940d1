import { createServer, type IncomingMessage, type RequestListener } from "node:http"
import type { Duplex } from "node:stream"
import { Effect, Mailbox, type Scope } from "effect"
import { WebSocketServer } from "ws"
import { DoorLimits, type DoorLimitsShape } from "../services/Admission.js"
import { type Connection, ListenError, type Listener } from "../services/Transport.js"
import { makeDoor, refuseUpgrade } from "./door.js"

type Door = Effect.Effect.Success<typeof makeDoor>

import { nodeIdHeader, type SocketBounds, withPeerNodeId, wrapSocket } from "./wsConnection.js"

/** What a listener needs from its transport. */
export interface ListenOptions extends SocketBounds {
  /** The interface to listen on. */
  readonly host: string
  /** This node's random id, sent in every upgrade response. */
  readonly nodeId: string
  /** Runs the Effect that wraps an accepted socket, from ws's callback. */
  readonly runSync: (effect: Effect.Effect<Connection>) => Connection
  /** Answers plain HTTP on the same port (/status, /metrics, the dashboard). */
  readonly answerPlainHttp: RequestListener
}

const remoteOf = (request: IncomingMessage): string =>
  `${request.socket.remoteAddress ?? "?"}:${request.socket.remotePort ?? "?"}`

const listenErrorOf = (port: number, error: NodeJS.ErrnoException): ListenError =>
  error.code === "EADDRINUSE"
    ? new ListenError({ reason: "AddressInUse", port, message: `port ${port} is already in use` })
    : error.code === "EACCES"
      ? new ListenError({ reason: "PermissionDenied", port, message: `no permission to listen on port ${port}` })
      : new ListenError({ reason: "Unknown", port, message: error.message })

/**
 * Turns the upgrade requests `door` admits into connections in `accepted`. The door is asked before
 * the upgrade completes: a refused IP costs no WebSocket and no frame. An upgrade that does not
 * become a WebSocket in time is dropped.
 */
const acceptUpgrades = (
  server: ReturnType<typeof createServer>,
  wss: WebSocketServer,
  door: Door,
  limits: DoorLimitsShape,
  options: ListenOptions,
  accepted: Mailbox.Mailbox<Connection>,
) =>
  server.on("upgrade", (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const ip = request.socket.remoteAddress
    const verdict = door.admit(ip)
    if (verdict._tag === "Refused") return refuseUpgrade(socket, verdict.reason)
    socket.once("close", () => door.release(ip))
    const timer = setTimeout(() => socket.destroy(), limits.upgradeTimeoutMillis)
    socket.once("close", () => clearTimeout(timer))
    wss.handleUpgrade(request, socket, head, (ws) => {
      clearTimeout(timer)
      const connection = options.runSync(wrapSocket(ws, remoteOf(request), options, () => request.socket))
      accepted.unsafeOffer(withPeerNodeId(ip === undefined ? connection : { ...connection, remoteIp: ip }, request))
    })
  })

/** Listens on `port` (0: any free one) until the scope closes, which ends every connection it accepted. */
export const listenOn = (port: number, options: ListenOptions): Effect.Effect<Listener, ListenError, Scope.Scope> =>
  Effect.gen(function* () {
    const accepted = yield* Mailbox.make<Connection>()
    const door = yield* makeDoor
    const limits = yield* DoorLimits
    const { server } = yield* Effect.acquireRelease(
      Effect.async<{ server: ReturnType<typeof createServer>; wss: WebSocketServer }, ListenError>((resume) => {
        const wss = new WebSocketServer({ noServer: true, maxPayload: options.maxPayload })
        wss.on("headers", (headers) => headers.push(`${nodeIdHeader}: ${options.nodeId}`))
        const server = createServer(
          {
            // A client that trickles its headers (an upgrade request's too) is cut off, checked every second.
            headersTimeout: limits.httpHeadersTimeoutMillis,
            requestTimeout: Math.max(limits.httpRequestTimeoutMillis, limits.httpHeadersTimeoutMillis),
            connectionsCheckingInterval: Math.min(1_000, limits.httpHeadersTimeoutMillis),
          },
          options.answerPlainHttp,
        )
        acceptUpgrades(server, wss, door, limits, options, accepted)
        server.once("error", (error) => resume(Effect.fail(listenErrorOf(port, error))))
        server.listen(port, options.host, () => resume(Effect.succeed({ server, wss })))
      }),
      ({ server, wss }) =>
        Effect.async<void>((resume) => {
          for (const client of wss.clients) client.terminate()
          wss.close()
          server.close(() => resume(Effect.void))
          server.closeAllConnections()
        }),
    )
    yield* Effect.addFinalizer(() => accepted.shutdown)
    const address = server.address()
    return {
      port: typeof address === "object" && address !== null ? address.port : port,
      accepted,
    }
  })
