import { Effect, FiberSet, LogLevel, Stream } from "effect"
import { type Address, makeAddressParser } from "../domain/Address.js"
import { isLogged } from "../domain/isLogged.js"
import { NodeConfig } from "../services/NodeConfig.js"
import { NodeStats } from "../services/NodeStats.js"
import { PeerStore, type PeerStoreShape } from "../services/PeerStore.js"
import type { TransactionPool } from "../services/TransactionPool.js"
import { type Connection, type Listener, Transport } from "../services/Transport.js"
import { makeConnectionSlots } from "./connectionSlots.js"
import { makeConnectionRunners } from "./connections.js"
import { makeDialling } from "./dialling.js"
import { makeDialQueue } from "./dialQueue.js"
import { makeFrameServer } from "./frames.js"
import { makeHeartbeat } from "./heartbeat.js"
import { makeLinks } from "./links.js"
import { makePeerBudget } from "./peerBudget.js"
import { resyncAfterLostLinks, syncPeriodically } from "./resync.js"
import { makeShutdownReport } from "./shutdown.js"

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
  const inboundFibers = yield* FiberSet.make<void, never>()
  // Inbound connections run in the node's own context, not in that of the frame that started them.
  const runConnection = yield* FiberSet.runtime(inboundFibers)<NodeConfig | PeerStore | TransactionPool | Transport>()

  const slots = yield* makeConnectionSlots(config.knownPeers)
  const dialQueue = yield* makeDialQueue(slots)
  // Peers list the same few addresses in every HANDSHAKE and PEERS: one cache of their parses per node.
  const parse = makeAddressParser()
  // Who relays to whom (links.ts) and how many peers we keep (peerBudget.ts).
  const links = yield* makeLinks({
    self: config.address,
    gossip: config.mesh.gossip,
    announceDelayMillis: config.mesh.announceDelayMillis,
    onListed: (addresses, source): Effect.Effect<void> =>
      budget.onListed(addresses, (address) => dialling.learn([address], source)),
    sample: Effect.suspend((): Effect.Effect<ReadonlyArray<Address>> => budget.sample),
    parse,
    isDialling: (address): boolean => dialling.isDialling(address),
  })
  const budget = yield* makePeerBudget(links)
  const serveFrames = yield* makeFrameServer(
    (addresses, source): Effect.Effect<void> => dialling.learn(addresses, source),
    parse,
  )
  const connections = makeConnectionRunners({
    self: config.address,
    peers,
    stats,
    slots,
    dialQueue,
    links,
    heartbeat: yield* makeHeartbeat(config.healing.heartbeatTimeoutMillis),
    serveFrames,
  })
  const dialling = yield* makeDialling({ config, peers, stats, parse, links, budget, dialQueue, connections })
  yield* logConnectedPeers(peers)
  yield* Effect.forkScoped(budget.run(dialling.dialNow))
  yield* Effect.forkScoped(resyncAfterLostLinks(links))
  yield* Effect.forkScoped(syncPeriodically(links, config.healing.syncIntervalMillis))
  const listener = yield* transport.listen(config.port)
  yield* Effect.logInfo("listening").pipe(Effect.annotateLogs({ port: listener.port }))
  yield* Effect.forEach(config.knownPeers, dialling.dialNow, { discard: true })
  yield* Effect.forkScoped(
    acceptAll(listener, (connection) => runConnection(connections.inbound(connection, dialling.pairing.adopter))),
  )
  // Added last, so it runs first when the node stops: connections closing then are not dialled again.
  yield* Effect.addFinalizer(() => Effect.zipRight(shutdown.stopping, dialling.pairing.stop))
  return { port: listener.port, links }
}).pipe((node) => Effect.flatMap(NodeConfig, (config) => Effect.annotateLogs(node, { node: config.address })))

/** The connected peers at each change, as a debug line: followed only when debug lines are logged. */
const logConnectedPeers = (peers: PeerStoreShape) =>
  Effect.gen(function* () {
    if (!(yield* isLogged(LogLevel.Debug))) return
    yield* peers.changes.pipe(
      Stream.changesWith((a, b) => a.connected.join() === b.connected.join()),
      Stream.runForEach(({ connected }) => Effect.logDebug("connected peers").pipe(Effect.annotateLogs({ connected }))),
      Effect.forkScoped,
    )
  })

/** Hands each accepted connection to `serve` (which gives it a fiber), until the listener closes. */
const acceptAll = (listener: Listener, serve: (connection: Connection) => void): Effect.Effect<void> =>
  Effect.flatMap(listener.accepted.takeAll, ([accepted, done]) => {
    for (const connection of accepted) serve(connection)
    return done ? Effect.void : acceptAll(listener, serve)
  })
