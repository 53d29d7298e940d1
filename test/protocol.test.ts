import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, TestClock } from "effect"

import { decodeFrame, encodeFrame, type Message } from "../src/domain/Message.js"
import { makeTransaction } from "../src/domain/Transaction.js"
import * as TransportMemory from "../src/layers/TransportMemory.js"
import { fakePeer, record, send, startMemoryNode, waitForPeers, waitForPoolSize } from "./support/memoryNode.js"

const tx = makeTransaction({ fromAddress: null, toAddress: "04abcdef", amount: 42, timeStamp: 1_700_000_000_000 })

describe("protocol on the in-memory network", () => {
  it.scoped("a HANDSHAKE makes the node dial every address it is not connected to", () =>
    Effect.gen(function* () {
      const node = yield* startMemoryNode(4001)
      const a = yield* fakePeer(4105)
      const b = yield* fakePeer(4106)
      const probe = yield* a.dial(node.address)
      yield* send(probe, { type: "HANDSHAKE", data: [a.address, b.address] })
      yield* a.nextInbound
      yield* b.nextInbound
      const snapshot = yield* waitForPeers(node.peers, (s) => s.connected.length === 2)
      expect(snapshot.connected).toEqual(expect.arrayContaining([a.address, b.address]))
    }).pipe(Effect.provide(TransportMemory.layerNetwork)),
  )

  it.scoped("its HANDSHAKE is the first frame and lists its own and its connected addresses", () =>
    Effect.gen(function* () {
      const node = yield* startMemoryNode(4001)
      const first = yield* fakePeer(4105)
      yield* send(yield* first.dial(node.address), { type: "HANDSHAKE", data: [first.address] })
      const toFirst = yield* record(yield* first.nextInbound)
      expect(yield* toFirst.nextMessage).toEqual({ type: "HANDSHAKE", data: [node.address, first.address] })

      const second = yield* fakePeer(4106)
      yield* send(yield* second.dial(node.address), { type: "HANDSHAKE", data: [second.address] })
      const toSecond = yield* record(yield* second.nextInbound)
      const handshake = yield* toSecond.nextMessage
      expect(handshake.type).toBe("HANDSHAKE")
      expect(handshake.data).toEqual(expect.arrayContaining([node.address, first.address, second.address]))
    }).pipe(Effect.provide(TransportMemory.layerNetwork)),
  )

  it.scoped("it never dials its own address", () =>
    Effect.gen(function* () {
      const node = yield* startMemoryNode(4001)
      const peer = yield* fakePeer(4105)
      yield* send(yield* peer.dial(node.address), {
        type: "HANDSHAKE",
        data: [node.address, "ws://LOCALHOST:4001/", peer.address],
      })
      const snapshot = yield* waitForPeers(node.peers, (s) => s.connected.length === 1)
      expect(snapshot.connected).toEqual([peer.address])
      expect(snapshot.dialling).toEqual([])
    }).pipe(Effect.provide(TransportMemory.layerNetwork)),
  )

  it.scoped("it never dials the same address twice at once", () =>
    Effect.gen(function* () {
      const node = yield* startMemoryNode(4001)
      const peer = yield* fakePeer(4105)
      const probe = yield* peer.dial(node.address)
      // The same address three times in one handshake, then again in a second handshake.
      yield* send(probe, { type: "HANDSHAKE", data: [peer.address, peer.address, "ws://localhost:4105/"] })
      yield* send(probe, { type: "HANDSHAKE", data: [peer.address] })
      yield* peer.nextInbound
      yield* waitForPeers(node.peers, (s) => s.connected.length === 1)
      // A third handshake after the fact: the node is connected, so it does not dial again.
      yield* send(probe, { type: "HANDSHAKE", data: [peer.address] })
      const marker = yield* fakePeer(4107)
      yield* send(probe, { type: "HANDSHAKE", data: [marker.address] })
      yield* marker.nextInbound
      expect(yield* peer.acceptedCount).toBe(0)
    }).pipe(Effect.provide(TransportMemory.layerNetwork)),
  )

  it.scoped("an address leaves the connected set when its connection ends", () =>
    Effect.gen(function* () {
      const node = yield* startMemoryNode(4001)
      const peer = yield* fakePeer(4105)
      yield* send(yield* peer.dial(node.address), { type: "HANDSHAKE", data: [peer.address] })
      const connection = yield* peer.nextInbound
      yield* waitForPeers(node.peers, (s) => s.connected.includes(peer.address))
      yield* connection.close
      const after = yield* waitForPeers(node.peers, (s) => s.connected.length === 0)
      expect(after.dialling).toEqual([])
    }).pipe(Effect.provide(TransportMemory.layerNetwork)),
  )

  it.scoped("a failed dial leaves the dialling set", () =>
    Effect.gen(function* () {
      const node = yield* startMemoryNode(4001, [4999])
      const snapshot = yield* waitForPeers(node.peers, (s) => s.dialling.length === 0)
      expect(snapshot.connected).toEqual([])
    }).pipe(Effect.provide(TransportMemory.layerNetwork)),
  )

  it.scoped("three nodes form a full mesh from the spec's known peers", () =>
    Effect.gen(function* () {
      const ports = [4001, 4002, 4003]
      const nodes = yield* Effect.forEach(ports, (port) => startMemoryNode(port, [4001, 4003]))
      for (const node of nodes) {
        const others = nodes.filter((other) => other !== node).map((other) => other.address)
        yield* waitForPeers(node.peers, (s) => others.every((address) => s.connected.includes(address)))
      }
    }).pipe(Effect.provide(TransportMemory.layerNetwork)),
  )

  it.scoped("a transaction is stored once by every node and forwarded once by each", () =>
    Effect.gen(function* () {
      // Nodes refuse transactions from the future: let the test's clock read the transaction's time.
      yield* TestClock.setTime(tx.timeStamp)
      const nodes = yield* Effect.forEach([4001, 4002, 4003], (port) => startMemoryNode(port, [4001, 4003]))
      // A spec peer joins too, and counts the TRANSACTION frames it is sent.
      const observer = yield* fakePeer(4104)
      for (const node of nodes) {
        yield* send(yield* observer.dial(node.address), { type: "HANDSHAKE", data: [observer.address] })
      }
      const inbound = yield* Effect.forEach(nodes, () => Effect.flatMap(observer.nextInbound, record))
      for (const node of nodes) {
        yield* waitForPeers(node.peers, (s) => s.connected.length === 3)
      }
      for (const connection of inbound) expect((yield* connection.nextMessage).type).toBe("HANDSHAKE")

      const client = yield* fakePeer(4200)
      const [first] = nodes
      if (first === undefined) return
      const socket = yield* client.dial(first.address)
      yield* send(socket, { type: "TRANSACTION", data: tx })
      yield* send(socket, { type: "TRANSACTION", data: tx })
      for (const node of nodes) yield* waitForPoolSize(node.pool, 1)
      // Each node forwards it once to the observer, whatever the order of arrival.
      for (const connection of inbound) {
        expect(yield* connection.nextSpecMessage).toEqual({ type: "TRANSACTION", data: tx })
      }
      for (const node of nodes) {
        expect(yield* node.pool.list).toEqual([tx])
      }
      // Once everyone has it, a fresh transaction is the next thing the observer sees: nothing was resent.
      const marker = makeTransaction({ ...tx, amount: 7 })
      yield* send(socket, { type: "TRANSACTION", data: marker })
      for (const connection of inbound)
        expect(yield* connection.nextSpecMessage).toEqual({ type: "TRANSACTION", data: marker })
    }).pipe(Effect.provide(TransportMemory.layerNetwork)),
  )

  it.scoped("an invalid transaction or a bad frame is dropped and the node carries on", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(tx.timeStamp)
      const node = yield* startMemoryNode(4001)
      const client = yield* fakePeer(4200)
      const socket = yield* client.dial(node.address)
      yield* socket.send("not json at all")
      yield* socket.send(new Uint8Array([1, 2, 3]))
      yield* socket.send(JSON.stringify({ type: "TRANSACTION", data: { ...tx, amount: 43 } }))
      yield* socket.send(JSON.stringify({ type: "TRANSACTION", data: { ...tx, amount: -1 } }))
      yield* socket.send(JSON.stringify({ type: "HANDSHAKE", data: "ws://localhost:4105" }))
      yield* socket.send(JSON.stringify({ type: "SOMETHING_ELSE", data: 1 }))
      yield* send(socket, { type: "TRANSACTION", data: tx })
      yield* waitForPoolSize(node.pool, 1)
      expect(yield* node.pool.list).toEqual([tx])
    }).pipe(Effect.provide(TransportMemory.layerNetwork)),
  )
})

describe("frames on the wire", () => {
  it("every message is encoded by its schema as the spec's JSON text, and decodes back to itself", () => {
    const messages: ReadonlyArray<Message> = [
      { type: "HANDSHAKE", data: ["ws://localhost:4001", "ws://localhost:4002"] },
      { type: "HANDSHAKE", data: [] },
      { type: "SYNC_SUMMARY", data: { count: 1, digest: tx.hash } },
      { type: "PEERS", data: { address: "ws://localhost:4001", peers: ["ws://localhost:4002"] } },
      { type: "PEERS", data: { address: "ws://localhost:4001", peers: [], known: ["ws://localhost:4003"] } },
      { type: "TRANSACTION", data: tx },
    ]
    for (const message of messages) {
      expect(encodeFrame(message)).toBe(JSON.stringify(message))
      expect(decodeFrame(encodeFrame(message))).toEqual(Either.right(message))
    }
    // A TRANSACTION's fields go out in the spec's order, whatever order the value has.
    const { hash, amount, ...rest } = tx
    const shuffled = { type: "TRANSACTION", data: { hash, amount, ...rest } } as const
    expect(encodeFrame(shuffled)).toBe(JSON.stringify({ type: "TRANSACTION", data: tx }))
    // Fields the schema does not know are left out.
    const extra = { type: "PEERS", data: { address: "ws://localhost:4001", peers: [], other: 1 } } as Message
    expect(encodeFrame(extra)).toBe('{"type":"PEERS","data":{"address":"ws://localhost:4001","peers":[]}}')
  })
})
