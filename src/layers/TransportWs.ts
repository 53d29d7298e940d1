import { randomUUID } from "node:crypto"
import { createServer, type IncomingMessage } from "node:http"
import type { Duplex } from "node:stream"
import { Effect, Layer, Mailbox, Runtime, Scope } from "effect"
import { WebSocket, WebSocketServer } from "ws"
import type { Address } from "../domain/Address.js"
import { DoorLimits } from "../services/Admission.js"
import { type Connection, DialError, ListenError, Transport, timedOut } from "../services/Transport.js"
import { makeDoor, refuseUpgrade } from "./door.js"
import { makeHostLookup } from "./hostLookup.js"
import { makePlainHttpListener } from "./plainHttp.js"
import { closeSocket, nodeIdHeader, type SocketBounds, withPeerNodeId, wrapSocket } from "./wsConnection.js"

export interface TransportWsOptions extends SocketBounds {
  /** Largest frame accepted, in bytes; a larger one closes the connection (ws close code 1009). */
  readonly maxPayload: number
  /** Bytes waiting to be sent to a peer; past it the peer is not reading and is disconnected. */
  readonly maxSendBuffer: number
  /** The interface to listen on. */
  readonly host: string
  /** How long a dial may take before it counts as failed. */
  readonly dialTimeoutMillis: number
}

export const defaultOptions: TransportWsOptions = {
  maxPayload: 1024 * 1024,
  maxSendBuffer: 4 * 1024 * 1024,
  host: "localhost",
  dialTimeoutMillis: 5_000,
}

export { nodeIdHeader } from "./wsConnection.js"

/** ws's error when `handshakeTimeout` (which also bounds the TCP connect) runs out. */
const wsHandshakeTimeout = "Opening handshake has timed out"

const remoteOf = (request: IncomingMessage): string =>
  `${request.socket.remoteAddress ?? "?"}:${request.socket.remotePort ?? "?"}`

const listenErrorOf = (port: number, error: NodeJS.ErrnoException): ListenError =>
  error.code === "EADDRINUSE"
    ? new ListenError({ reason: "AddressInUse", port, message: `port ${port} is already in use` })
    : error.code === "EACCES"
      ? new ListenError({ reason: "PermissionDenied", port, message: `no permission to listen on port ${port}` })
      : new ListenError({ reason: "Unknown", port, message: error.message })

export const make = (options: TransportWsOptions = defaultOptions) =>
  Effect.gen(function* () {
    const answerPlainHttp = yield* makePlainHttpListener
    const nodeId = randomUUID()
    // Sockets are accepted in ws's callbacks: their connections are made there, with this runtime.
    const runSync = Runtime.runSync(yield* Effect.runtime<never>())
    // Every dial of a forming mesh names the same host or few: each is resolved once, not per dial.
    const lookup = makeHostLookup()

    const listen = (port: number) =>
      Effect.gen(function* () {
        const accepted = yield* Mailbox.make<Connection>()
        const door = yield* makeDoor
        const limits = yield* DoorLimits
        const { server } = yield* Effect.acquireRelease(
          Effect.async<{ server: ReturnType<typeof createServer>; wss: WebSocketServer }, ListenError>((resume) => {
            const wss = new WebSocketServer({ noServer: true, maxPayload: options.maxPayload })
            wss.on("headers", (headers) => headers.push(`${nodeIdHeader}: ${nodeId}`))
            const server = createServer(
              {
                // A client that trickles its headers (an upgrade request's too) is cut off, checked every second.
                headersTimeout: limits.httpHeadersTimeoutMillis,
                requestTimeout: Math.max(limits.httpRequestTimeoutMillis, limits.httpHeadersTimeoutMillis),
                connectionsCheckingInterval: Math.min(1_000, limits.httpHeadersTimeoutMillis),
              },
              answerPlainHttp,
            )
            server.on("upgrade", (request: IncomingMessage, socket: Duplex, head: Buffer) => {
              // Checked before the upgrade completes: a refused IP costs no WebSocket and no frame.
              const ip = request.socket.remoteAddress
              const verdict = door.admit(ip)
              if (verdict._tag === "Refused") return refuseUpgrade(socket, verdict.reason)
              socket.once("close", () => door.release(ip))
              // An upgrade that does not become a WebSocket in time is dropped.
              const timer = setTimeout(() => socket.destroy(), limits.upgradeTimeoutMillis)
              socket.once("close", () => clearTimeout(timer))
              wss.handleUpgrade(request, socket, head, (ws) => {
                clearTimeout(timer)
                const connection = runSync(wrapSocket(ws, remoteOf(request), options, () => request.socket))
                accepted.unsafeOffer(
                  withPeerNodeId(ip === undefined ? connection : { ...connection, remoteIp: ip }, request),
                )
              })
            })
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

    // The socket is closed when the scope closes, whatever became of the dial (a failed one is closed
    // already): the finalizer goes into the scope before the socket is made, so no uninterruptible
    // acquire/release pair per dial. Interrupted while it opens, the socket is terminated at once.
    const dial = (address: Address) =>
      Effect.flatMap(Effect.scope, (scope) => {
        let socket: WebSocket | undefined
        return Effect.zipRight(
          Scope.addFinalizer(
            scope,
            Effect.sync(() => {
              if (socket !== undefined) closeSocket(socket)
            }),
          ),
          Effect.async<Connection, DialError>((resume) => {
            const opening = new WebSocket(address, {
              maxPayload: options.maxPayload,
              handshakeTimeout: options.dialTimeoutMillis,
              headers: { [nodeIdHeader]: nodeId },
              lookup,
            })
            socket = opening
            let response: IncomingMessage | undefined
            const connection = runSync(wrapSocket(opening, address, options, () => response?.socket))
            opening.once("upgrade", (upgrade) => {
              response = upgrade
            })
            const onError = (error: Error) =>
              resume(
                Effect.fail(
                  new DialError({
                    address,
                    message: error.message === wsHandshakeTimeout ? timedOut(options.dialTimeoutMillis) : error.message,
                  }),
                ),
              )
            opening.once("error", onError)
            opening.once("open", () => {
              opening.off("error", onError)
              resume(Effect.succeed(withPeerNodeId(connection, response)))
            })
            return Effect.sync(() => opening.terminate())
          }),
        )
      })

    return Transport.of({ listen, dial, nodeId, dialTimeoutMillis: options.dialTimeoutMillis })
  })

export const layer = (options: TransportWsOptions = defaultOptions) => Layer.effect(Transport, make(options))
