import type { IncomingMessage } from "node:http"
import type { Socket } from "node:net"
import { Data, Effect, Exit } from "effect"
import { WebSocket } from "ws"
import { NodeStats } from "../services/NodeStats.js"
import type { Connection, Frame } from "../services/Transport.js"
import { makeInbox, sizeOf } from "./inbox.js"

/**
 * One `ws` socket as a Connection: its frames into an inbox (paused past the inbox's high water),
 * sends corked per turn of the event loop and bounded per peer, ping and close. Used by TransportWs
 * for both directions.
 */

/** The HTTP header that carries a node's random id on dial and in the upgrade response. */
export const nodeIdHeader = "meshnode-node-id"

/** ws ended the connection because a frame was larger than maxPayload. */
class FrameTooLarge extends Data.TaggedError("FrameTooLarge") {}

/** We ended the connection because the peer left more than maxSendBuffer bytes of ours unread. */
class NotReading extends Data.TaggedError("NotReading")<{ readonly waiting: number }> {}

/** What a connection may hold, in bytes: the largest frame it reads, and what waits to be sent to its peer. */
export interface SocketBounds {
  readonly maxPayload: number
  readonly maxSendBuffer: number
}

/**
 * Wraps a `ws` socket (open, or still connecting) as a Connection. Listeners are attached at once,
 * so no frame is lost between the socket opening and someone reading `frames`.
 */
export const wrapSocket = (
  socket: WebSocket,
  remote: string,
  bounds: SocketBounds,
  /** The TCP socket under the WebSocket (known once the upgrade is done). */
  tcp: () => Socket | undefined,
): Effect.Effect<Connection> =>
  Effect.suspend(() => {
    const pings = makePings(socket)
    return Effect.map(
      // A frame too large ends the frames with a log line, by the reader's fiber, so the line carries
      // the node and peer of the connection.
      makeInbox<FrameTooLarge | NotReading>({
        // A peer that sends faster than we read is held back by TCP, not by our memory.
        flow: { pause: pings.pause, resume: pings.resume },
        onFailure: (error) => (error._tag === "NotReading" ? logNotReading(error, bounds) : logTooLarge(bounds)),
      }),
      (inbox): Connection => {
        // Closed at once, not gracefully: a closing frame would wait behind what the peer does not read.
        let stoppedReading = false
        const send = makeCorkedSend(socket, tcp, bounds.maxSendBuffer, (waiting) => {
          stoppedReading = true
          inbox.end(Exit.fail(new NotReading({ waiting })))
          abort(socket, tcp())
        })
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
          unsafePing: pings.ping,
          stoppedReading: () => stoppedReading,
        }
      },
    )
  })

/**
 * A socket's pings, and its reads stopped and restarted for the inbox. ws answers pings by itself;
 * only a peer whose event loop or network is stuck stays silent. While we hold its frames unread, its
 * pong would wait behind them: it is busy, not silent, so a ping waiting for one is answered when the
 * reads stop, and no ping waits while they are stopped.
 */
const makePings = (socket: WebSocket) => {
  let held = false
  const waitingForPong = new Set<() => void>()
  return {
    pause: () => {
      held = true
      socket.pause()
      for (const answer of waitingForPong) answer()
    },
    resume: () => {
      held = false
      socket.resume()
    },
    ping: (onPong: () => void) => {
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
}

const logTooLarge = (bounds: SocketBounds) =>
  Effect.logWarning("frame refused").pipe(
    Effect.annotateLogs({
      reason: "too large",
      limit: `${bounds.maxPayload} bytes`,
      detail: "connection closed (1009)",
    }),
    Effect.zipRight(Effect.flatMap(NodeStats, (stats) => stats.frameRefused("too large"))),
  )

const logNotReading = (error: NotReading, bounds: SocketBounds) =>
  Effect.logWarning("peer disconnected: not reading what we send").pipe(
    Effect.annotateLogs({
      waiting: `${error.waiting} bytes`,
      limit: `${bounds.maxSendBuffer} bytes (MAX_SEND_BUFFER_BYTES)`,
    }),
    Effect.zipRight(Effect.flatMap(NodeStats, (stats) => stats.increment("peersNotReading"))),
  )

/**
 * Sends frames on `socket`, holding the TCP socket corked until the current turn of the event loop
 * ends: frames sent in one turn (a relayed batch) leave in one write instead of one system call each.
 * A frame that would leave more than `maxSendBuffer` bytes waiting for the peer is not sent: the
 * peer is not reading, and `overflow` ends the connection rather than buffer for it without end.
 */
const makeCorkedSend = (
  socket: WebSocket,
  tcp: () => Socket | undefined,
  maxSendBuffer: number,
  overflow: (waiting: number) => void,
) => {
  let corked: Socket | undefined
  const uncork = () => {
    corked?.uncork()
    corked = undefined
  }
  return (frame: Frame) => {
    if (socket.readyState !== WebSocket.OPEN) return
    const waiting = socket.bufferedAmount + sizeOf(frame)
    if (waiting > maxSendBuffer) return overflow(waiting)
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
export const withPeerNodeId = (connection: Connection, message: IncomingMessage | undefined): Connection => {
  const id = message?.headers[nodeIdHeader]
  return typeof id === "string" && id !== "" ? { ...connection, peerNodeId: id } : connection
}

const toBytes = (data: WebSocket.RawData): Uint8Array =>
  Array.isArray(data) ? Buffer.concat(data) : data instanceof ArrayBuffer ? new Uint8Array(data) : data

/**
 * Ends a connection at once. With its TCP socket at hand, that is destroyed with an error: Node then
 * fails every write still buffered with that one error, where `terminate` makes one error (stack
 * trace included) per buffered write: about 21 ms of CPU against 1 ms for a peer that left 4 MB unread.
 */
const abort = (socket: WebSocket, tcp: Socket | undefined) => {
  if (tcp === undefined) socket.terminate()
  else tcp.destroy(new Error("peer not reading"))
}

export const closeSocket = (socket: WebSocket) => {
  if (socket.readyState === WebSocket.CLOSED) return
  if (socket.readyState === WebSocket.CONNECTING) return socket.terminate()
  socket.close()
  // A peer that never completes the closing handshake must not keep the socket alive.
  setTimeout(() => socket.terminate(), 1_000).unref()
}
