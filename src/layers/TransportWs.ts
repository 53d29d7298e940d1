import { randomUUID } from "node:crypto"
import { createServer, type IncomingMessage } from "node:http"
import type { Socket } from "node:net"
import type { Duplex } from "node:stream"
import { Data, Effect, Exit, Layer, Mailbox, Runtime, Scope } from "effect"
import { WebSocket, WebSocketServer } from "ws"
import type { Address } from "../domain/Address.js"
import { DoorLimits } from "../services/Admission.js"
import { NodeStats } from "../services/NodeStats.js"
import { type Connection, DialError, type Frame, ListenError, Transport, timedOut } from "../services/Transport.js"
import { makeDoor, refuseUpgrade } from "./door.js"
import { makeHostLookup } from "./hostLookup.js"
import { makeInbox } from "./inbox.js"
import { makePlainHttpListener } from "./plainHttp.js"

export interface TransportWsOptions {
  /** Largest frame accepted, in bytes; a larger one closes the connection (ws close code 1009). */
  readonly maxPayload: number
  /** The interface to listen on. */
  readonly host: string
  /** How long a dial may take before it counts as failed. */
  readonly dialTimeoutMillis: number
}

export const defaultOptions: TransportWsOptions = {
  maxPayload: 1024 * 1024,
  host: "localhost",
  dialTimeoutMillis: 5_000,
}

/** The HTTP header that carries a node's random id on dial and in the upgrade response. */
export const nodeIdHeader = "meshnode-node-id"

/** ws's error when `handshakeTimeout` (which also bounds the TCP connect) runs out. */
const wsHandshakeTimeout = "Opening handshake has timed out"

/** ws ended the connection because a frame was larger than maxPayload. */
class FrameTooLarge extends Data.TaggedError("FrameTooLarge") {}

/**
 * Wraps a `ws` socket (open, or still connecting) as a Connection. Listeners are attached at once,
 * so no frame is lost between the socket opening and someone reading `frames`.
 */
const wrapSocket = (
  socket: WebSocket,
  remote: string,
  maxPayload: number,
  /** The TCP socket under the WebSocket (known once the upgrade is done). */
  tcp: () => Socket | undefined,
): Effect.Effect<Connection> =>
  Effect.suspend(() => {
    // Whether the inbox holds the socket's reads stopped: the peer's pongs then wait unread too, so a
    // ping waiting for one is answered then, and no ping waits while reads are stopped.
    let held = false
    const waitingForPong = new Set<() => void>()
    return Effect.map(
      // A frame too large ends the frames with a log line, by the reader's fiber, so the line carries
      // the node and peer of the connection.
      makeInbox<FrameTooLarge>({
        // A peer that sends faster than we read is held back by TCP, not by our memory.
        flow: {
          pause: () => {
            held = true
            socket.pause()
            for (const answer of waitingForPong) answer()
          },
          resume: () => {
            held = false
            socket.resume()
          },
        },
        onFailure: () =>
          Effect.logWarning("frame refused").pipe(
            Effect.annotateLogs({
              reason: "too large",
              limit: `${maxPayload} bytes`,
              detail: "connection closed (1009)",
            }),
            Effect.zipRight(Effect.flatMap(NodeStats, (stats) => stats.frameRefused("too large"))),
          ),
      }),
      (inbox): Connection => {
        const send = makeCorkedSend(socket, tcp)
        socket.on("message", (data, isBinary) => {
          inbox.offer(isBinary ? toBytes(data) : data.toString())
        })
        socket.on("close", () => inbox.end(Exit.void))
        // Errors are followed by "close"; only an oversized frame is worth telling the reader about.
        socket.on("error", (error: Error & { code?: string }) => {
          if (error.code === "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH") inbox.end(Exit.fail(new FrameTooLarge()))
        })
        if (socket.readyState === WebSocket.CLOSING || socket.readyState === WebSocket.CLOSED) inbox.end(Exit.void)
        return {
          remote,
          receive: inbox.receive,
          send: (frame) => Effect.sync(() => send(frame)),
          // The frames end at once (those already received are still read): a peer that never completes the
          // closing handshake must not keep the reader waiting.
          close: Effect.sync(() => {
            closeSocket(socket)
            inbox.end(Exit.void)
          }),
          // ws answers pings by itself; only a peer whose event loop or network is stuck stays silent.
          // While we hold its frames unread, its pong would wait behind them: it is busy, not silent.
          unsafePing: (onPong) => {
            if (socket.readyState !== WebSocket.OPEN) return
            if (held) return onPong()
            const answer = () => {
              if (!waitingForPong.delete(answer)) return
              socket.off("pong", answer)
              onPong()
            }
            waitingForPong.add(answer)
            socket.once("pong", answer)
            socket.ping()
          },
        }
      },
    )
  })

/**
 * Sends frames on `socket`, holding the TCP socket corked until the current turn of the event loop
 * ends: frames sent in one turn (a relayed batch) leave in one write instead of one system call each.
 */
const makeCorkedSend = (socket: WebSocket, tcp: () => Socket | undefined) => {
  let corked: Socket | undefined
  const uncork = () => {
    corked?.uncork()
    corked = undefined
  }
  return (frame: Frame) => {
    if (socket.readyState !== WebSocket.OPEN) return
    if (corked === undefined) {
      corked = tcp()
      if (corked !== undefined) {
        corked.cork()
        process.nextTick(uncork)
      }
    }
    socket.send(frame)
  }
}

/** The connection with the node id its peer sent in `message`'s headers, if any. */
const withPeerNodeId = (connection: Connection, message: IncomingMessage | undefined): Connection => {
  const id = message?.headers[nodeIdHeader]
  return typeof id === "string" && id !== "" ? { ...connection, peerNodeId: id } : connection
}

const toBytes = (data: WebSocket.RawData): Uint8Array =>
  Array.isArray(data) ? Buffer.concat(data) : data instanceof ArrayBuffer ? new Uint8Array(data) : data

const closeSocket = (socket: WebSocket) => {
  if (socket.readyState === WebSocket.CLOSED) return
  if (socket.readyState === WebSocket.CONNECTING) return socket.terminate()
  socket.close()
  // A peer that never completes the closing handshake must not keep the socket alive.
  setTimeout(() => socket.terminate(), 1_000).unref()
}

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
                const connection = runSync(wrapSocket(ws, remoteOf(request), options.maxPayload, () => request.socket))
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
            const connection = runSync(wrapSocket(opening, address, options.maxPayload, () => response?.socket))
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
