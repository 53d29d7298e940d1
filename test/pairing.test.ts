import { describe, expect, it } from "@effect/vitest"
import { Effect, Option, Stream, TestClock } from "effect"
import { Address } from "../src/domain/Address.js"
import { encodeFrame } from "../src/domain/Message.js"
import { makeTransaction, type Transaction } from "../src/domain/Transaction.js"
import * as TransportMemory from "../src/layers/TransportMemory.js"
import type { LinkSnapshot } from "../src/protocol/links.js"
import type { PeerSnapshot } from "../src/services/PeerStore.js"
import { fakePeer, record, send, waitForPeers } from "./support/memoryNode.js"
import { makeTransactionLog, type SimNode, startSimNode } from "./support/simNetwork.js"

/**
 * One connection per pair of our nodes (src/protocol/pairing.ts), on the in-memory network: a node of
 * ours that dials another is answered on the same connection instead of being dialled back.
 */

const tx = (n: number): Transaction =>
  makeTransaction({ fromAddress: null, toAddress: "04abcdef", amount: 1 + n, timeStamp: n })

const waitForLinks = (node: SimNode, predicate: (snapshot: LinkSnapshot) => boolean) =>
  node.links.changes.pipe(Stream.filter(predicate), Stream.runHead, Effect.map(Option.getOrThrow))

const lists = (address: Address) => (snapshot: PeerSnapshot) => snapshot.connected.includes(address)

/** Sends a transaction to `node` the way add-transaction does. */
const submit = (node: SimNode, transaction: Transaction) =>
  Effect.gen(function* () {
    const client = yield* TransportMemory.make("localhost", { spec: true })
    yield* Effect.scoped(
      Effect.flatMap(client.dial(node.address), (connection) =>
        connection.send(encodeFrame({ type: "TRANSACTION", data: transaction })),
      ),
    )
  })

const poolHas = (node: SimNode, transaction: Transaction) =>
  node.pool.sizeChanges.pipe(
    Stream.filterEffect(() => node.pool.has(transaction.hash)),
    Stream.runHead,
  )

describe("one connection per pair of our nodes", () => {
  it.scoped("a node of ours that dials another is adopted: one connection, both list each other, both ways work", () =>
    Effect.gen(function* () {
      const log = makeTransactionLog()
      const b = yield* startSimNode({ port: 7701, knownPeers: [], log })
      const a = yield* startSimNode({ port: 7702, knownPeers: [7701], log })
      yield* waitForPeers(a.peers, lists(b.address))
      yield* waitForPeers(b.peers, lists(a.address))
      expect((yield* b.links.snapshot).links).toMatchObject([{ address: a.address, direction: "inbound" }])
      yield* submit(b, tx(1))
      yield* poolHas(a, tx(1))
      yield* submit(a, tx(2))
      yield* poolHas(b, tx(2))
      // Nobody dials the other later either.
      yield* TestClock.adjust("1 minute")
      expect(log.totals().connections).toBe(1)
      expect((yield* b.peers.snapshot).dialling).toEqual([])
    }).pipe(Effect.provide(TransportMemory.layerNetwork)),
  )

  it.scoped("with SHARE_CONNECTIONS=false each dials the other, as spec nodes do", () =>
    Effect.gen(function* () {
      const log = makeTransactionLog()
      const mesh = { shareConnections: false }
      const b = yield* startSimNode({ port: 7705, knownPeers: [], log, mesh })
      const a = yield* startSimNode({ port: 7706, knownPeers: [7705], log, mesh })
      yield* waitForLinks(b, (s) => s.links.some((link) => link.address === a.address && link.direction === "outbound"))
      expect(log.totals().connections).toBe(2)
    }).pipe(Effect.provide(TransportMemory.layerNetwork)),
  )

  it.scoped("an adopted connection that ends is redialled after a redial delay", () =>
    Effect.gen(function* () {
      const log = makeTransactionLog()
      const node = yield* startSimNode({ port: 7711, knownPeers: [], log })
      // A scripted node of ours: it dials, names itself, then its connection drops.
      const peer = yield* fakePeer(7712, { ours: true })
      const connection = yield* peer.dial(node.address)
      yield* send(connection, { type: "HANDSHAKE", data: [peer.address] })
      yield* waitForPeers(node.peers, lists(peer.address))
      yield* connection.close
      yield* waitForPeers(node.peers, (s) => !s.connected.includes(peer.address))
      expect(yield* peer.acceptedCount).toBe(0)
      // The table says why it waits.
      const waiting = node.peers
        .entry(peer.address)
        .pipe(Effect.repeat({ until: (entry) => entry?.state._tag === "BackingOff" }))
      expect(yield* waiting).toMatchObject({
        state: { _tag: "BackingOff", failures: 0 },
        reason: "connection dropped",
      })
      // Not at once (the peer may be shutting down), but after the delay its own connection would wait.
      yield* TestClock.adjust("1 second")
      const back = yield* record(yield* peer.nextInbound)
      expect(yield* back.nextMessage).toEqual({ type: "HANDSHAKE", data: [node.address, peer.address] })
    }).pipe(Effect.provide(TransportMemory.layerNetwork)),
  )

  it.scoped("a node waiting to redial a peer adopts the peer's connection instead", () =>
    Effect.gen(function* () {
      const log = makeTransactionLog()
      // b dials its known peer at 7716, a stand-in there drops the connection and goes away: b's
      // loop waits out its redial delay (the test clock never ends it).
      const b = yield* startSimNode({ port: 7715, knownPeers: [7716], log })
      yield* Effect.scoped(
        Effect.gen(function* () {
          const standIn = yield* fakePeer(7716)
          const connection = yield* standIn.nextInbound
          yield* waitForPeers(b.peers, lists(standIn.address))
          yield* connection.close
          yield* waitForPeers(b.peers, (s) => s.connected.length === 0)
        }),
      )
      // The real node comes up there and dials b first.
      const a = yield* startSimNode({ port: 7716, knownPeers: [7715], log })
      yield* waitForPeers(b.peers, lists(a.address))
      yield* TestClock.adjust("1 minute")
      // b's dial to the stand-in, and a's dial to b: b never dialled again.
      expect(log.totals().connections).toBe(2)
      expect((yield* b.links.snapshot).links).toMatchObject([{ address: a.address, direction: "inbound" }])
    }).pipe(Effect.provide(TransportMemory.layerNetwork)),
  )

  it.scoped("a peer is believed to be the address it names only from that address's host", () =>
    Effect.gen(function* () {
      const log = makeTransactionLog()
      const node = yield* startSimNode({ port: 7721, knownPeers: [], log })
      const real = yield* fakePeer(7722)
      // A node id and a local address, from another host: not believed, so the real one is dialled.
      const elsewhere = yield* TransportMemory.make("10.0.0.9")
      const liar = yield* elsewhere.dial(node.address)
      yield* send(liar, { type: "HANDSHAKE", data: [real.address] })
      const dialled = yield* record(yield* real.nextInbound)
      expect(yield* dialled.nextMessage).toMatchObject({ type: "HANDSHAKE" })
      // The same host naming itself is adopted: answered on its own connection, never dialled.
      const honest = Address.make("ws://10.0.0.9:7729")
      const fromHonest = yield* elsewhere.dial(node.address)
      const answers = yield* record(fromHonest)
      yield* send(fromHonest, { type: "HANDSHAKE", data: [honest] })
      expect(yield* answers.nextMessage).toEqual({ type: "HANDSHAKE", data: [node.address, real.address, honest] })
      expect(yield* answers.nextMessage).toMatchObject({ type: "PEERS", data: { address: node.address } })
      const snapshot = yield* node.peers.snapshot
      expect([...snapshot.connected].sort()).toEqual([real.address, honest].sort())
      expect(snapshot.dialling).toEqual([])
    }).pipe(Effect.provide(TransportMemory.layerNetwork)),
  )
})
