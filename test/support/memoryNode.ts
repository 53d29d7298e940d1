import { Context, Effect, Either, Layer, Mailbox, Option, Stream } from "effect"
import type { Scope } from "effect/Scope"
import { type Address, localAddress } from "../../src/domain/Address.js"
import { decodeFrame, encodeFrame, type Message } from "../../src/domain/Message.js"
import type { Transaction } from "../../src/domain/Transaction.js"
import * as NodeConfigFolder from "../../src/layers/NodeConfigFolder.js"
import * as PeerStoreRef from "../../src/layers/PeerStoreRef.js"
import * as TransactionPoolMemory from "../../src/layers/TransactionPoolMemory.js"
import * as TransportMemory from "../../src/layers/TransportMemory.js"
import { startNode } from "../../src/protocol/Node.js"
import type { HealingSettings, MeshSettings } from "../../src/services/NodeConfig.js"
import { type PeerSnapshot, PeerStore } from "../../src/services/PeerStore.js"
import { TransactionPool } from "../../src/services/TransactionPool.js"
import { type Connection, framesOf } from "../../src/services/Transport.js"

/** Starts a node on the in-memory network; it stops when the scope closes. */
export const startMemoryNode = (
  port: number,
  knownPeers: ReadonlyArray<number> = [],
  options: {
    readonly pool?: ReadonlyArray<Transaction>
    readonly healing?: Partial<HealingSettings>
    readonly mesh?: Partial<MeshSettings>
  } = {},
) =>
  Effect.gen(function* () {
    const context = yield* Layer.build(
      Layer.mergeAll(
        PeerStoreRef.layer,
        TransactionPoolMemory.layer(options.pool),
        TransportMemory.layer(),
        NodeConfigFolder.layerStatic({
          port,
          knownPeers: knownPeers.map(localAddress),
          ...(options.healing === undefined ? {} : { healing: options.healing }),
          ...(options.mesh === undefined ? {} : { mesh: options.mesh }),
        }),
      ),
    )
    const { links } = yield* Effect.provide(startNode, context)
    return {
      address: localAddress(port),
      links,
      peers: Context.get(context, PeerStore),
      pool: Context.get(context, TransactionPool),
    }
  })

/** Waits until the node's peer snapshot satisfies `predicate`. */
export const waitForPeers = (
  peers: { readonly changes: Stream.Stream<PeerSnapshot> },
  predicate: (snapshot: PeerSnapshot) => boolean,
) => peers.changes.pipe(Stream.filter(predicate), Stream.runHead, Effect.map(Option.getOrThrow))

/** Waits until the pool holds at least `count` transactions. */
export const waitForPoolSize = (pool: { readonly sizeChanges: Stream.Stream<number> }, count: number) =>
  pool.sizeChanges.pipe(
    Stream.filter((size) => size >= count),
    Stream.runHead,
    Effect.asVoid,
  )

export const sameMembers = (actual: ReadonlyArray<string>, expected: ReadonlyArray<string>) =>
  actual.length === expected.length && expected.every((item) => actual.includes(item))

/**
 * A scripted peer on the in-memory network, like the spec's test helpers: it can listen, dial,
 * send raw frames and read what it receives. With `ours` its transport sends a node id, as our nodes'
 * does (so a node it dials may adopt its connection: protocol/pairing.ts). With `ours: "listener"`
 * only the connections it accepts carry one: a node dials it back and treats it as ours (SYNC_ and
 * PEERS frames), without adopting the connection the peer opened.
 */
export const fakePeer = (port: number, options: { readonly ours?: boolean | "listener" } = {}) =>
  Effect.gen(function* () {
    const transport = yield* TransportMemory.make("localhost", { spec: options.ours !== true })
    const listening =
      options.ours === "listener" ? yield* TransportMemory.make("localhost", { spec: false }) : transport
    const listener = yield* listening.listen(port)
    const accepted = yield* Mailbox.make<Connection>()
    yield* Effect.forkScoped(
      Stream.runForEach(Mailbox.toStream(listener.accepted), (connection) => accepted.offer(connection)),
    )
    return {
      address: localAddress(port),
      /** The next connection a node opens to this peer. */
      nextInbound: accepted.take,
      acceptedCount: Effect.map(
        accepted.size,
        Option.getOrElse(() => 0),
      ),
      dial: (address: Address): Effect.Effect<Connection, unknown, Scope> => transport.dial(address),
      /** Whether this peer answers pings on its connections; false makes it look frozen. */
      setAnswersPings: transport.setAnswersPings,
    }
  })

const specTypes: ReadonlySet<string> = new Set(["HANDSHAKE", "TRANSACTION"])

/** Records a connection's frames so a test can take them one at a time, in order. */
export const record = (connection: Connection) =>
  Effect.gen(function* () {
    const frames = yield* Mailbox.make<string | Uint8Array>()
    yield* Effect.forkScoped(
      Stream.runForEach(framesOf(connection), (frame) => frames.offer(frame)).pipe(Effect.ensuring(frames.end)),
    )
    const nextMessage = Effect.flatMap(frames.take, (frame) => {
      const decoded = decodeFrame(frame)
      return Either.isRight(decoded) ? Effect.succeed(decoded.right) : Effect.fail(decoded.left)
    })
    return {
      connection,
      /** The next message, decoded; fails if the connection closed first or the frame is not a message. */
      nextMessage,
      /** The next HANDSHAKE or TRANSACTION, skipping what a spec node ignores (our SYNC_ messages). */
      nextSpecMessage: nextMessage.pipe(Effect.repeat({ until: (message) => specTypes.has(message.type) })),
      /** Frames received and not yet taken. */
      pending: frames.size,
    }
  })

export const send = (connection: Connection, message: Message) => connection.send(encodeFrame(message))
