import { Effect, FiberSet, LogLevel, Option, Stream } from "effect"
import { type Address, makeAddressParser } from "../domain/Address.js"
import { isLogged } from "../domain/isLogged.js"
import { encodeFrame, type Handshake } from "../domain/Message.js"
import { hasOutboundLink } from "../domain/peerLinks.js"
import { NodeConfig } from "../services/NodeConfig.js"
import { NodeStats } from "../services/NodeStats.js"
import { PeerStore } from "../services/PeerStore.js"
import type { TransactionPool } from "../services/TransactionPool.js"
import { type Connection, Transport } from "../services/Transport.js"
import { makeAddressBook } from "./addressBook.js"
import { makeConnectionSlots } from "./connectionSlots.js"
import { makeDialQueue } from "./dialQueue.js"
import { makeFrameServer } from "./frames.js"
import { handshakeFor } from "./handshake.js"
import { makeHeartbeat } from "./heartbeat.js"
import { type ConnectionLink, makeLinks } from "./links.js"
import { makePairing } from "./pairing.js"
import { makePeerBudget } from "./peerBudget.js"
import { type DialOutcome, makeRedialer } from "./redial.js"
import { resyncAfterLostLinks, syncPeriodically } from "./resync.js"
import { makeShutdownReport } from "./shutdown.js"
import { poolSummary } from "./sync.js"

/**
 * Starts a spec node: listens, dials its known peers, and speaks the spec's protocol on every
 * connection. Plain Effect over the services, so it runs unchanged on the WebSocket and in-memory
 * layers. Returns once the node is listening; it runs until its scope closes, which closes every
 * connection.
 */
export const startNode = Effect.gen(function* () {
  const config = yield* NodeConfig
  const transport = yield* Transport
  const peers = yield* PeerStore
  const stats = yield* NodeStats
  // Added before anything else that closes, so `stopped` comes once the connections are closed.
  const shutdown = yield* makeShutdownReport
  yield* Effect.addFinalizer(() => shutdown.stopped)
  const connections = yield* FiberSet.make<void, never>()
  // Connection fibers run in the node's own context, not in that of the frame that started them.
  const runConnection = yield* FiberSet.runtime(connections)<NodeConfig | PeerStore | TransactionPool | Transport>()

  const slots = yield* makeConnectionSlots(config.knownPeers)
  const dialQueue = yield* makeDialQueue(slots)

  const { healing } = config
  // Peers list the same few addresses in every HANDSHAKE and PEERS: one cache of their parses per node.
  const parse = makeAddressParser()
  // Who relays to whom (links.ts) and how many peers we keep (peerBudget.ts).
  const links = yield* makeLinks({
    self: config.address,
    gossip: config.mesh.gossip,
    announceDelayMillis: config.mesh.announceDelayMillis,
    onListed: (addresses, source): Effect.Effect<void> =>
      budget.onListed(addresses, (address) => book.learn([address], source)),
    sample: Effect.suspend((): Effect.Effect<ReadonlyArray<Address>> => budget.sample),
    parse,
    isDialling: (address): boolean => redialer.isDialling(address),
  })
  const budget = yield* makePeerBudget(links)
  const serveFrames = yield* makeFrameServer(
    (addresses, source): Effect.Effect<void> => book.learn(addresses, source),
    parse,
  )
  const heartbeat = yield* makeHeartbeat(healing.heartbeatTimeoutMillis)
  // Serves a connection until it closes, its peer stops answering pings, or it sends too many bad frames.
  // The node's heartbeat closes a silent peer's connection, which ends the frames; it watches the
  // connection for the connection's scope.
  const serve = (connection: Connection, link: ConnectionLink, adopt?: (message: Handshake) => Effect.Effect<void>) =>
    Effect.zipRight(heartbeat.watch(connection), serveFrames(connection, link, adopt))

  const sendHandshake = (address: Address, connection: Connection) =>
    Effect.flatMap(peers.snapshot, ({ connected }) =>
      connection.send(encodeFrame(handshakeFor(config.address, connected, address))),
    ).pipe(
      Effect.zipRight(stats.messagesSent("HANDSHAKE", 1)),
      Effect.withSpan("Handshake.send", { captureStackTrace: false }),
    )

  const runOutbound = (address: Address) =>
    Effect.gen(function* () {
      // Checked again on every redial: the address may since have proved to lead back to this node.
      if ((yield* dialQueue.isOwn(address)) || !(yield* peers.claim(address))) return "Busy" satisfies DialOutcome
      yield* Effect.logDebug("dial started")
      const connection = yield* dialQueue.dial(address).pipe(Effect.withSpan("Node.dial", { captureStackTrace: false }))
      // The HANDSHAKE is the first frame on every outbound connection. Our pool's summary follows it
      // only to a node of ours (its upgrade answer carried a node id): a spec node gets nothing else.
      yield* sendHandshake(address, connection)
      if (connection.peerNodeId !== undefined) yield* connection.send(encodeFrame(yield* poolSummary))
      const link = yield* links.outbound(address, connection)
      yield* stats.increment("outboundConnections")
      yield* Effect.logInfo("connected; handshake sent").pipe(Effect.annotateLogs({ type: "HANDSHAKE" }))
      yield* serve(connection, link)
      yield* Effect.logInfo("peer closed")
      return "Dropped" as const
    }).pipe(
      // The redial loop says it once per run of failures (redial.ts); each one is a debug line.
      Effect.catchTag("DialError", (error) =>
        Effect.logDebug("dial failed", error.message).pipe(
          Effect.zipRight(peers.failed(address, error.message)),
          Effect.zipRight(stats.increment("dialsFailed")),
          Effect.as("Unreachable" as const),
        ),
      ),
      Effect.scoped,
      // Every span of this connection (dial, handshake, transactions) names the peer; its log lines
      // name it through the redial loop it runs in.
      Effect.annotateSpans({ peer: address }),
      Effect.withSpan("Node.outbound", { attributes: { peer: address }, captureStackTrace: false }),
    )

  // Every address is dialled by its own loop, which redials it when the dial fails or the connection drops.
  const redialer = yield* makeRedialer({
    policy: {
      baseDelay: healing.redialBaseMillis,
      maxDelay: healing.redialMaxMillis,
      learnedAttempts: healing.redialLearnedAttempts,
    },
    isKnown: (address) => config.knownPeers.includes(address),
    connect: (address) => budget.gate(address, runOutbound(address)),
    table: peers,
  })
  // Our advertised address is ourselves, whatever interface we listen on. An address we are connected
  // to is left alone: its redial loop is serving that connection and would drop a wake-up when it ends
  // (redial.ts), so asking costs a few steps for nothing (every HANDSHAKE lists most of our peers).
  const dialWith = (start: (address: Address) => Effect.Effect<void>) => (address: Address) =>
    Effect.gen(function* () {
      if (!(yield* budget.admits(address)) || (yield* links.hasOutbound(address))) return
      if (yield* dialQueue.admit(address)) yield* start(address)
    })
  const dialNow = dialWith((address) => redialer.dial(address))
  // Our nodes share one connection per pair (pairing.ts); a bounded mesh has its own rule (peerBudget.ts).
  const pairing = makePairing({
    self: config.address,
    enabled: config.mesh.shareConnections && Option.isNone(config.mesh.maxPeers),
    parse,
    peers,
    stats,
    dialNow,
    dialLater: dialWith((address) => redialer.redial(address)),
    standDown: (address) => redialer.standDown(address),
    sendHandshake,
  })
  // What peers list is dialled from here, at the node's own pace (addressBook.ts), never at once.
  const book = yield* makeAddressBook({
    // A loop backing off is not settled: a peer listing the address again has it dialled now, as before.
    unsettled: (addresses) =>
      Effect.map(peers.entriesOf(addresses), (entries) =>
        addresses.filter((address, i) => {
          const entry = entries[i]
          if (address === config.address || hasOutboundLink(entry)) return false
          return !redialer.isDialling(address) || entry?.state._tag === "BackingOff"
        }),
      ),
    dial: (address): Effect.Effect<void> => pairing.dial(address),
  })

  const runInbound = (connection: Connection) =>
    Effect.gen(function* () {
      const link = yield* links.inbound(connection)
      if (!(yield* slots.inbound({ remoteIp: connection.remoteIp, close: connection.close, isNamed: link.isNamed }))) {
        return
      }
      yield* Effect.logDebug("inbound connection opened")
      yield* stats.increment("inboundConnections")
      yield* serve(connection, link, pairing.adopter(connection, link, yield* Effect.scope))
      yield* Effect.logDebug("inbound connection closed")
    }).pipe(
      Effect.scoped,
      Effect.ensuring(connection.close),
      Effect.annotateSpans({ remote: connection.remote }),
      Effect.withSpan("Node.inbound", { attributes: { remote: connection.remote }, captureStackTrace: false }),
      Effect.annotateLogs("remote", connection.remote),
    )

  // A debug line only: followed only when debug lines are logged, so a change costs nothing more otherwise.
  if (yield* isLogged(LogLevel.Debug)) {
    yield* peers.changes.pipe(
      Stream.changesWith((a, b) => a.connected.join() === b.connected.join()),
      Stream.runForEach(({ connected }) => Effect.logDebug("connected peers").pipe(Effect.annotateLogs({ connected }))),
      Effect.forkScoped,
    )
  }
  yield* Effect.forkScoped(budget.run(dialNow))
  yield* Effect.forkScoped(resyncAfterLostLinks(links))
  yield* Effect.forkScoped(syncPeriodically(links, healing.syncIntervalMillis))
  const listener = yield* transport.listen(config.port)
  yield* Effect.logInfo("listening").pipe(Effect.annotateLogs({ port: listener.port }))
  yield* Effect.forEach(config.knownPeers, dialNow, { discard: true })
  // Each accepted connection gets its fiber; the loop ends when the listener closes.
  const accept: Effect.Effect<void> = Effect.flatMap(listener.accepted.takeAll, ([accepted, done]) => {
    for (const connection of accepted) runConnection(runInbound(connection))
    return done ? Effect.void : accept
  })
  yield* Effect.forkScoped(accept)
  // Added last, so it runs first when the node stops: connections closing then are not dialled again.
  yield* Effect.addFinalizer(() => Effect.zipRight(shutdown.stopping, pairing.stop))
  return { port: listener.port, links }
}).pipe((node) => Effect.flatMap(NodeConfig, (config) => Effect.annotateLogs(node, { node: config.address })))
