import { Effect, Either, FiberSet, Stream } from "effect"
import { type Address, parseAddress } from "../domain/Address.js"
import { decodeFrame, encodeFrame, type Handshake, type Message, type TransactionMessage } from "../domain/Message.js"
import { NodeConfig } from "../services/NodeConfig.js"
import { PeerStore } from "../services/PeerStore.js"
import { TransactionPool } from "../services/TransactionPool.js"
import { type Connection, type Frame, Transport } from "../services/Transport.js"

/**
 * A spec node: listens, dials its known peers, and on every connection speaks the spec's protocol.
 * Plain Effect over the services, so it runs unchanged on the WebSocket and in-memory layers.
 * Runs until interrupted; closing its scope closes every connection.
 */
export const runNode = Effect.gen(function* () {
  const config = yield* NodeConfig
  const transport = yield* Transport
  const peers = yield* PeerStore
  const pool = yield* TransactionPool
  const connections = yield* FiberSet.make<void, never>()
  // Connection fibers run in the node's own context, not in that of the frame that started them.
  const runConnection = yield* FiberSet.runtime(connections)<never>()

  const dial = (address: Address): Effect.Effect<void> =>
    Effect.sync(() => {
      if (address !== config.address) runConnection(runOutbound(address))
    })

  /** Our HANDSHAKE: every address we are connected to, and our own. */
  const handshakeFor = (dialled: Address) =>
    Effect.map(
      peers.snapshot,
      ({ connected }): Handshake => ({
        type: "HANDSHAKE",
        data: [config.address, ...connected, dialled],
      }),
    )

  const runOutbound = (address: Address) =>
    Effect.gen(function* () {
      const claimed = yield* peers.claim(address)
      if (!claimed) return
      yield* Effect.logDebug("dial started")
      const connection = yield* transport.dial(address)
      // The HANDSHAKE is the first frame on every outbound connection; it already lists the peer.
      const handshake = yield* handshakeFor(address)
      yield* connection.send(encodeFrame(handshake))
      yield* peers.register({ address, send: connection.send })
      yield* Effect.logInfo("connected; handshake sent").pipe(Effect.annotateLogs({ type: "HANDSHAKE" }))
      yield* serve(connection)
      yield* Effect.logInfo("peer closed")
    }).pipe(
      Effect.catchTag("DialError", (error) => Effect.logInfo("dial failed", error.message)),
      Effect.scoped,
      Effect.withSpan("Node.outbound", { attributes: { peer: address } }),
      Effect.annotateLogs({ peer: address }),
    )

  const runInbound = (connection: Connection) =>
    Effect.gen(function* () {
      yield* Effect.logDebug("inbound connection opened")
      yield* serve(connection)
      yield* Effect.logDebug("inbound connection closed")
    }).pipe(
      Effect.ensuring(connection.close),
      Effect.withSpan("Node.inbound", { attributes: { remote: connection.remote } }),
      Effect.annotateLogs({ remote: connection.remote }),
    )

  const serve = (connection: Connection) => Stream.runForEach(connection.frames, (frame) => receive(frame))

  const receive = (frame: Frame): Effect.Effect<void> => {
    const decoded = decodeFrame(frame)
    if (Either.isRight(decoded)) return handle(decoded.right)
    const error = decoded.left
    return error._tag === "UnknownMessageType"
      ? Effect.logDebug("message of unknown type ignored").pipe(Effect.annotateLogs({ type: error.type }))
      : Effect.logWarning("frame refused").pipe(Effect.annotateLogs({ reason: error.reason, detail: error.detail }))
  }

  const handle = (message: Message): Effect.Effect<void> =>
    (message.type === "HANDSHAKE" ? onHandshake(message) : onTransaction(message)).pipe(
      Effect.annotateLogs({ type: message.type }),
    )

  const onHandshake = (message: Handshake) =>
    Effect.gen(function* () {
      yield* Effect.logDebug("handshake received").pipe(Effect.annotateLogs({ addresses: message.data.length }))
      for (const entry of message.data) {
        const address = parseAddress(entry)
        if (Either.isLeft(address)) {
          yield* Effect.logWarning("address refused").pipe(
            Effect.annotateLogs({ address: String(entry).slice(0, 200), reason: address.left }),
          )
        } else {
          yield* dial(address.right)
        }
      }
    })

  const onTransaction = (message: TransactionMessage) =>
    Effect.gen(function* () {
      const tx = message.data
      const isNew = yield* pool.add(tx)
      if (!isNew) return yield* Effect.logDebug("transaction duplicate")
      yield* Effect.logInfo("transaction accepted")
      const targets = yield* peers.peers
      const frame = encodeFrame(message)
      yield* Effect.forEach(targets, (peer) => peer.send(frame), { discard: true })
      yield* Effect.logDebug("transaction forwarded").pipe(Effect.annotateLogs({ peers: targets.length }))
    }).pipe(
      Effect.annotateLogs({ hash: message.data.hash }),
      Effect.withSpan("Node.transaction", { attributes: { hash: message.data.hash } }),
    )

  const listener = yield* transport.listen(config.port)
  yield* Effect.logInfo("listening").pipe(Effect.annotateLogs({ port: listener.port }))
  yield* Effect.forEach(config.knownPeers, dial, { discard: true })
  return yield* Stream.runForEach(listener.accepted, (connection) =>
    Effect.sync(() => runConnection(runInbound(connection))),
  ).pipe(Effect.andThen(Effect.never))
}).pipe((node) => Effect.flatMap(NodeConfig, (config) => Effect.annotateLogs(node, { node: config.address })))
