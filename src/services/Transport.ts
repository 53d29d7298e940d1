import { type Chunk, Context, Data, Effect, type Mailbox, Option, type Scope, Stream } from "effect"
import type { Address } from "../domain/Address.js"

/** A frame as it came off the wire: text, or the bytes of a binary frame. */
export type Frame = string | Uint8Array

/** One open connection, inbound or outbound. */
export interface Connection {
  /** Who is on the other end, for logs (the dialled address, or the remote socket address). */
  readonly remote: string
  /**
   * The next incoming frames, in order: a run of whatever arrived (at least one frame, at most a few
   * dozen), waiting for one if none has; None once the connection has closed. One reader. Both
   * transports deliver every frame this way, so a test on TransportMemory runs the frame path that
   * production runs.
   */
  readonly receive: Effect.Effect<Option.Option<Chunk.Chunk<Frame>>>
  /**
   * Sends a frame (the protocol sends text); a no-op once the connection is closed. A peer that leaves
   * too much of what it is sent unread is disconnected (MAX_SEND_BUFFER_BYTES).
   */
  readonly send: (frame: Frame) => Effect.Effect<void>
  /** Closes the connection; `receive` then answers None. */
  readonly close: Effect.Effect<void>
  /**
   * Sends a WebSocket ping and calls `onPong` when the peer's pong comes back, as a plain call (the
   * heartbeat pings every connection of a node from one fiber). It is never called if the peer does
   * not answer (a frozen process, a half-open TCP connection), or if the connection is not open.
   */
  readonly unsafePing: (onPong: () => void) => void
  /**
   * Whether the connection was cut off because its peer left too much of what it was sent unread
   * (MAX_SEND_BUFFER_BYTES): it does not read, whatever its pings said so far. A plain read.
   */
  readonly stoppedReading: () => boolean
  /** The random id of the node at the other end, when its transport sends one (spec nodes do not). */
  readonly peerNodeId?: string
  /** The IP an inbound connection came from, when the transport has IPs. */
  readonly remoteIp?: string
}

/** A connection's frames as a stream, for readers off the per-frame path (tests, tools). */
export const framesOf = (connection: Connection): Stream.Stream<Frame> =>
  Stream.repeatEffectChunkOption(
    Effect.flatMap(connection.receive, (frames) =>
      Option.isSome(frames) ? Effect.succeed(frames.value) : Effect.fail(Option.none()),
    ),
  )

/** A listening server. */
export interface Listener {
  /** The port actually bound (useful with port 0). */
  readonly port: number
  /**
   * Every accepted connection, done when the listener closes. The receiver owns each and closes it
   * when done. A mailbox, not a stream: taking from it costs no stream machinery per connection
   * (`Mailbox.toStream` makes one where a stream reads better).
   */
  readonly accepted: Mailbox.ReadonlyMailbox<Connection>
}

export class ListenError extends Data.TaggedError("ListenError")<{
  readonly reason: "AddressInUse" | "PermissionDenied" | "Unknown"
  readonly port: number
  readonly message: string
}> {}

export class DialError extends Data.TaggedError("DialError")<{
  readonly address: Address
  readonly message: string
}> {}

/** A DialError's message for a dial that took too long. */
export const timedOut = (millis: number) => `dial timed out after ${millis} ms`

/** How nodes reach each other. */
export interface TransportShape {
  /** Listens on `port` for as long as the scope is open. */
  readonly listen: (port: number) => Effect.Effect<Listener, ListenError, Scope.Scope>
  /** Opens a connection to `address`; it closes when the scope closes. */
  readonly dial: (address: Address) => Effect.Effect<Connection, DialError, Scope.Scope>
  /** This node's random id, sent on every dial, so a node can tell when it has dialled itself. */
  readonly nodeId?: string
  /**
   * Set when every dial fails by itself after this long, with a DialError "dial timed out after <n> ms"
   * (TransportWs, through ws's handshake timeout): the dial queue then adds no timeout of its own.
   */
  readonly dialTimeoutMillis?: number
}

export class Transport extends Context.Tag("meshnode/Transport")<Transport, TransportShape>() {}
