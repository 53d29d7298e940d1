import { Effect, type Scope } from "effect"
import type { Address } from "../domain/Address.js"
import { encodeFrame, type Handshake } from "../domain/Message.js"
import type { NodeStatsShape } from "../services/NodeStats.js"
import type { PeerStoreShape } from "../services/PeerStore.js"
import type { Connection } from "../services/Transport.js"
import type { ConnectionSlots } from "./connectionSlots.js"
import type { makeDialQueue } from "./dialQueue.js"
import { handshakeFor } from "./handshake.js"
import type { Heartbeat } from "./heartbeat.js"
import type { ConnectionLink, Links } from "./links.js"
import type { DialOutcome } from "./redialLoop.js"
import { poolSummary } from "./sync.js"

type DialQueue = Effect.Effect.Success<ReturnType<typeof makeDialQueue>>

/** Names an inbound connection's peer from its first HANDSHAKE, for as long as `scope` lasts (pairing.ts). */
export type AdopterOf = (
  connection: Connection,
  link: ConnectionLink,
  scope: Scope.Scope,
) => (message: Handshake) => Effect.Effect<void>

/** What running a connection needs: the node's parts it touches. */
interface ConnectionContext<R> {
  readonly self: Address
  readonly peers: PeerStoreShape
  readonly stats: NodeStatsShape
  readonly slots: ConnectionSlots
  readonly dialQueue: DialQueue
  readonly links: Links
  readonly heartbeat: Heartbeat
  /** Handles a connection's frames until it closes (frames.ts). */
  readonly serveFrames: (
    connection: Connection,
    link: ConnectionLink,
    adopt?: (message: Handshake) => Effect.Effect<void>,
  ) => Effect.Effect<void, never, R>
}

type Serve<R> = (
  connection: Connection,
  link: ConnectionLink,
  adopt?: (message: Handshake) => Effect.Effect<void>,
) => Effect.Effect<boolean, never, R | Scope.Scope>

type SendHandshake = (address: Address, connection: Connection) => Effect.Effect<void>

/**
 * How a node runs one connection of either direction, from its first frame to its close: an outbound
 * one in its address's redial loop (redial.ts), an inbound one in a fiber of its own. Each holds a
 * connection slot and a link in the peer table for as long as it runs; both end with the scope.
 */
export const makeConnectionRunners = <R>(context: ConnectionContext<R>) => {
  const { peers, stats } = context

  // Until it closes, its peer stops answering pings, or it sends too many bad frames: the heartbeat
  // closes a silent peer's connection, which ends the frames, and watches it for the connection's scope.
  // Answers whether the peer still answered at the end: it answered pings, and it was not cut off for
  // leaving what it was sent unread (that can happen before the first ping).
  const serve: Serve<R> = (connection, link, adopt) =>
    Effect.flatMap(context.heartbeat.watch(connection), (watched) =>
      Effect.zipRight(
        context.serveFrames(connection, link, adopt),
        Effect.map(watched.answering, (answering) => answering && !connection.stoppedReading()),
      ),
    )

  /** Our HANDSHAKE to `address`: our address first, then the peers we are connected to. */
  const sendHandshake: SendHandshake = (address, connection) =>
    Effect.flatMap(peers.snapshot, ({ connected }) =>
      connection.send(encodeFrame(handshakeFor(context.self, connected, address))),
    ).pipe(
      Effect.zipRight(stats.messagesSent("HANDSHAKE", 1)),
      Effect.withSpan("Handshake.send", { captureStackTrace: false }),
    )

  return {
    sendHandshake,
    outbound: runOutbound(context, serve, sendHandshake),
    inbound: runInbound(context, serve),
  }
}

/** Dials `address` and serves the connection until it ends: how that went, for the redial loop. */
const runOutbound =
  <R>(context: ConnectionContext<R>, serve: Serve<R>, sendHandshake: SendHandshake) =>
  (address: Address) =>
    Effect.gen(function* () {
      const { peers, stats } = context
      // Checked again on every redial: the address may since have proved to lead back to this node.
      if ((yield* context.dialQueue.isOwn(address)) || !(yield* peers.claim(address)))
        return "Busy" satisfies DialOutcome
      yield* Effect.logDebug("dial started")
      const connection = yield* context.dialQueue
        .dial(address)
        .pipe(Effect.withSpan("Node.dial", { captureStackTrace: false }))
      // The HANDSHAKE is the first frame on every outbound connection. Our pool's summary follows it
      // only to a node of ours (its upgrade answer carried a node id): a spec node gets nothing else.
      yield* sendHandshake(address, connection)
      if (connection.peerNodeId !== undefined) yield* connection.send(encodeFrame(yield* poolSummary))
      const link = yield* context.links.outbound(address, connection)
      yield* stats.increment("outboundConnections")
      yield* Effect.logInfo("connected; handshake sent").pipe(Effect.annotateLogs({ type: "HANDSHAKE" }))
      const answering = yield* serve(connection, link)
      yield* Effect.logInfo("peer closed")
      return answering ? ("Dropped" as const) : ("Unresponsive" as const)
    }).pipe(
      // The redial loop says it once per run of failures (redial.ts); each one is a debug line.
      Effect.catchTag("DialError", (error) =>
        Effect.logDebug("dial failed", error.message).pipe(
          Effect.zipRight(context.peers.failed(address, error.message)),
          Effect.zipRight(context.stats.increment("dialsFailed")),
          Effect.as("Unreachable" as const),
        ),
      ),
      Effect.scoped,
      // Every span of this connection (dial, handshake, transactions) names the peer; its log lines
      // name it through the redial loop it runs in.
      Effect.annotateSpans({ peer: address }),
      Effect.withSpan("Node.outbound", { attributes: { peer: address }, captureStackTrace: false }),
    )

/** Serves a connection a peer opened to us, if it gets a slot, until it ends; then closes it. */
const runInbound =
  <R>(context: ConnectionContext<R>, serve: Serve<R>) =>
  (connection: Connection, adopterOf: AdopterOf) =>
    Effect.gen(function* () {
      const link = yield* context.links.inbound(connection)
      const slot = { remoteIp: connection.remoteIp, close: connection.close, isNamed: link.isNamed }
      if (!(yield* context.slots.inbound(slot))) return
      yield* Effect.logDebug("inbound connection opened")
      yield* context.stats.increment("inboundConnections")
      yield* serve(connection, link, adopterOf(connection, link, yield* Effect.scope))
      yield* Effect.logDebug("inbound connection closed")
    }).pipe(
      Effect.scoped,
      Effect.ensuring(connection.close),
      Effect.annotateSpans({ remote: connection.remote }),
      Effect.withSpan("Node.inbound", { attributes: { remote: connection.remote }, captureStackTrace: false }),
      Effect.annotateLogs("remote", connection.remote),
    )
