import { randomUUID } from "node:crypto"
import type { IncomingMessage } from "node:http"
import { Effect, Layer, Runtime, Scope } from "effect"
import { WebSocket } from "ws"
import type { Address } from "../domain/Address.js"
import { type Connection, DialError, Transport, timedOut } from "../services/Transport.js"
import { makeHostLookup } from "./hostLookup.js"
import { makePlainHttpListener } from "./plainHttp.js"
import { closeSocket, nodeIdHeader, type SocketBounds, withPeerNodeId, wrapSocket } from "./wsConnection.js"
import { listenOn } from "./wsListener.js"

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

export const make = (options: TransportWsOptions = defaultOptions) =>
  Effect.gen(function* () {
    const answerPlainHttp = yield* makePlainHttpListener
    const nodeId = randomUUID()
    // Sockets are accepted in ws's callbacks: their connections are made there, with this runtime.
    const runSync = Runtime.runSync(yield* Effect.runtime<never>())
    // Every dial of a forming mesh names the same host or few: each is resolved once, not per dial.
    const lookup = makeHostLookup()

    const listen = (port: number) => listenOn(port, { ...options, nodeId, runSync, answerPlainHttp })

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
