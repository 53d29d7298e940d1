import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Option, Stream, TestClock } from "effect"
import { Address, localAddress } from "../src/domain/Address.js"
import { encodeFrame } from "../src/domain/Message.js"
import { makeTransaction, type Transaction } from "../src/domain/Transaction.js"
import * as NodeConfigFolder from "../src/layers/NodeConfigFolder.js"
import * as TransportMemory from "../src/layers/TransportMemory.js"
import type { LinkSnapshot } from "../src/protocol/links.js"
import { RESYNC_DELAY_MILLIS } from "../src/protocol/resync.js"
import type { MeshSettings } from "../src/services/NodeConfig.js"
import { fakePeer, record, send } from "./support/memoryNode.js"
import { makeTransactionLog, type SimNode, startSimNode, type TransactionLog } from "./support/simNetwork.js"
import { startSpecPeer } from "./support/specPeer.js"

// Timestamps near the test clock's zero: nodes refuse transactions from the future.
const tx = (n: number): Transaction =>
  makeTransaction({ fromAddress: null, toAddress: "04abcdef", amount: 1 + (n % 100), timeStamp: n })

/** Waits until a node's links satisfy `predicate`. */
const waitForLinks = (node: SimNode, predicate: (snapshot: LinkSnapshot) => boolean) =>
  node.links.changes.pipe(Stream.filter(predicate), Stream.runHead, Effect.map(Option.getOrThrow))

/** Sends a transaction to `node` the way add-transaction does: a connection of its own, one frame. */
const submit = (node: SimNode, transaction: Transaction) =>
  Effect.gen(function* () {
    const client = yield* TransportMemory.make("client")
    yield* Effect.scoped(
      Effect.flatMap(client.dial(node.address), (connection) =>
        connection.send(encodeFrame({ type: "TRANSACTION", data: transaction })),
      ),
    )
  })

const fullMesh = (ports: ReadonlyArray<number>, log: TransactionLog, mesh: Partial<MeshSettings> = {}) =>
  Effect.gen(function* () {
    const [first = 0, , third = 0] = ports
    const nodes = yield* Effect.forEach(ports, (port) => startSimNode({ port, knownPeers: [first, third], log, mesh }))
    for (const node of nodes) {
      yield* waitForLinks(node, (s) => s.relayTo.length === nodes.length - 1)
    }
    // Past the announcements' quiet spell: every node knows what every other relays to.
    yield* TestClock.adjust("2 seconds")
    return nodes
  })

const everyPoolHas = (nodes: ReadonlyArray<SimNode>, hash: string) =>
  Effect.map(
    Effect.forEach(nodes, (node) => node.pool.has(hash)),
    (has) => has.every(Boolean),
  )

describe("advertised address", () => {
  it.scoped("the HANDSHAKE and PEERS carry ADVERTISED_ADDRESS, and a node never dials it", () =>
    Effect.gen(function* () {
      const self = Address.make("ws://10.231.7.1:7501")
      const log = makeTransactionLog()
      // A node reachable on another host's address, listening there on the in-memory network.
      const node = yield* startSimNode({ port: 7501, host: "10.231.7.1", address: self, knownPeers: [self], log })
      const peer = yield* fakePeer(7502, { ours: "listener" })
      const probe = yield* peer.dial(self)
      yield* send(probe, { type: "HANDSHAKE", data: [peer.address, self, "ws://10.231.7.1:7501/"] })
      const back = yield* record(yield* peer.nextInbound)
      expect(yield* back.nextMessage).toEqual({ type: "HANDSHAKE", data: [self, peer.address] })
      expect(yield* back.nextMessage).toMatchObject({ type: "SYNC_SUMMARY" })
      expect(yield* back.nextMessage).toMatchObject({ type: "PEERS", data: { address: self } })
      const snapshot = yield* node.peers.snapshot
      expect(snapshot.connected).toEqual([peer.address])
      expect(snapshot.dialling).toEqual([])
      // Its own address in known-peers.json is skipped too, however long it runs.
      yield* TestClock.adjust("1 minute")
      expect((yield* node.peers.snapshot).dialling).toEqual([])
    }).pipe(Effect.provide(TransportMemory.layerNetwork)),
  )

  it.scoped(
    "ADVERTISED_ADDRESS, MAX_PEERS, GOSSIP_MODE and SHARE_CONNECTIONS come from .env; bad values are refused by name",
    () =>
      Effect.gen(function* () {
        const dir = yield* Effect.acquireRelease(
          Effect.promise(() => mkdtemp(join(tmpdir(), "meshnode-scale-"))),
          (path) => Effect.promise(() => rm(path, { recursive: true, force: true })),
        )
        const folderWith = (name: string, env: string) =>
          Effect.promise(async () => {
            const folder = join(dir, name)
            await mkdir(folder)
            await writeFile(join(folder, ".env"), env)
            await writeFile(join(folder, "known-peers.json"), "[]")
            return folder
          })
        const plain = yield* NodeConfigFolder.make(yield* folderWith("plain", "PORT=7510\n"))
        expect(plain.address).toBe(localAddress(7510))
        expect(plain.mesh).toEqual({
          maxPeers: Option.none(),
          gossip: "pruned",
          announceDelayMillis: 250,
          shareConnections: true,
        })

        const set = yield* NodeConfigFolder.make(
          yield* folderWith(
            "set",
            "PORT=7511\nHOST=0.0.0.0\nADVERTISED_ADDRESS=WS://10.231.7.2:7511/\nMAX_PEERS=8\nGOSSIP_MODE=flood\nSHARE_CONNECTIONS=false\n",
          ),
        )
        expect(set.host).toBe("0.0.0.0")
        expect(set.address).toBe("ws://10.231.7.2:7511")
        expect(set.mesh).toMatchObject({ maxPeers: Option.some(8), gossip: "flood", shareConnections: false })

        const bads = [
          "ADVERTISED_ADDRESS=10.231.7.2:7511",
          "MAX_PEERS=1",
          "GOSSIP_MODE=shout",
          "SHARE_CONNECTIONS=maybe",
        ]
        for (const [i, bad] of bads.entries()) {
          const error = yield* Effect.flip(NodeConfigFolder.make(yield* folderWith(`bad-${i}`, `PORT=7512\n${bad}\n`)))
          expect(error.message).toContain(bad.split("=")[0])
        }
      }).pipe(Effect.provide(NodeContext.layer)),
  )
})

describe("pruned gossip", () => {
  it.scoped("in a full mesh of 10, a transaction costs 9 frames (flood: 90) and reaches everyone in one hop", () =>
    Effect.gen(function* () {
      const ports = Array.from({ length: 10 }, (_, i) => 7520 + i)
      for (const gossip of ["pruned", "flood"] as const) {
        const log = makeTransactionLog()
        const nodes = yield* fullMesh(
          ports.map((port) => port + (gossip === "flood" ? 20 : 0)),
          log,
          { gossip },
        )
        const [origin] = nodes
        if (origin === undefined) return
        const t = tx(gossip === "flood" ? 1 : 0)
        yield* submit(origin, t)
        yield* Effect.forEach(nodes, (node) =>
          node.pool.sizeChanges.pipe(
            Stream.filter((size) => size > 0),
            Stream.runHead,
          ),
        )
        expect(log.frames(t.hash)).toBe(gossip === "pruned" ? 9 : 90)
        // Pruned, each node gets one copy: the origin's. Flooded, every node relays to every other, and
        // which copy counts as first depends on where the log sees it: when sent on a connection its
        // sender dialled, when read on one the receiver dialled (a pair shares one connection).
        if (gossip === "pruned") expect(Math.max(...log.hops(t.hash, origin.address).values())).toBe(1)
      }
    }).pipe(Effect.provide(TransportMemory.layerNetwork)),
  )

  it.scoped("with a plain spec node in the mesh, transactions from either kind of node reach every node", () =>
    Effect.gen(function* () {
      const log = makeTransactionLog()
      const ours = yield* Effect.forEach([7561, 7563, 7564], (port) =>
        startSimNode({ port, knownPeers: [7561, 7563], log }),
      )
      const spec = yield* startSpecPeer(7562, [7561, 7563])
      const everyone = [...ours.map((node) => node.address), spec.address]
      for (const node of ours) {
        yield* waitForLinks(node, (s) => everyone.every((a) => a === node.address || s.relayTo.includes(a)))
      }
      yield* spec.connected.changes.pipe(
        Stream.filter((connected) => connected.length === 3),
        Stream.runHead,
      )
      yield* TestClock.adjust("2 seconds")
      const [first] = ours
      if (first === undefined) return
      yield* submit(first, tx(10))
      yield* Effect.forEach(ours, (node) =>
        node.pool.sizeChanges.pipe(
          Stream.filter((n) => n > 0),
          Stream.runHead,
        ),
      )
      // Our nodes do not send it to each other again, but each sends it to the spec node, as the spec's
      // relay would: 2 frames from the first node to ours, 3 to the spec node.
      expect(log.frames(tx(10).hash)).toBe(5)

      // A transaction a spec node sends (on its own connections) is relayed to every peer.
      const transport = yield* TransportMemory.make("spec-client", { spec: true })
      for (const node of ours) {
        const connection = yield* transport.dial(node.address)
        yield* send(connection, { type: "HANDSHAKE", data: ["ws://localhost:7566"] })
        if (node === first) yield* send(connection, { type: "TRANSACTION", data: tx(11) })
      }
      yield* Effect.forEach(ours, (node) =>
        node.pool.sizeChanges.pipe(
          Stream.filter((n) => n > 1),
          Stream.runHead,
        ),
      )
      expect(yield* everyPoolHas(ours, tx(11).hash)).toBe(true)
    }).pipe(Effect.provide(TransportMemory.layerNetwork)),
  )

  it.scoped(
    "a stale view can hide a transaction from a node; the catch-up after the lost link brings it (the safety net)",
    () =>
      Effect.gen(function* () {
        const log = makeTransactionLog()
        const q = yield* startSimNode({ port: 7571, knownPeers: [], log })
        const x = yield* startSimNode({ port: 7572, knownPeers: [7571], log })
        yield* waitForLinks(q, (s) => s.relayTo.includes(x.address))
        // F claims to relay to X, but will not: Q skips X for what F sends, as pruned gossip should.
        const f = yield* fakePeer(7573)
        const fromF = yield* f.dial(q.address)
        yield* send(fromF, { type: "HANDSHAKE", data: [f.address] })
        const toF = yield* record(yield* f.nextInbound)
        yield* send(fromF, { type: "PEERS", data: { address: f.address, peers: [q.address, x.address] } })
        yield* send(fromF, { type: "TRANSACTION", data: tx(20) })
        expect(yield* toF.nextSpecMessage).toMatchObject({ type: "HANDSHAKE" })
        yield* q.pool.sizeChanges.pipe(
          Stream.filter((n) => n > 0),
          Stream.runHead,
        )
        yield* TestClock.adjust("1 second")
        expect(yield* x.pool.has(tx(20).hash)).toBe(false)
        // F goes away: Q lost a link, and catches up with its other peers once announcements are out.
        yield* toF.connection.close
        yield* fromF.close
        yield* TestClock.adjust(RESYNC_DELAY_MILLIS)
        yield* x.pool.sizeChanges.pipe(
          Stream.filter((n) => n > 0),
          Stream.runHead,
        )
        expect(yield* x.pool.list).toEqual([tx(20)])
      }).pipe(Effect.provide(TransportMemory.layerNetwork)),
  )

  it.scoped("losing a spec peer starts no catch-up: nobody counts on a link to it, and it cannot catch up", () =>
    Effect.gen(function* () {
      const log = makeTransactionLog()
      const q = yield* startSimNode({ port: 7574, knownPeers: [], log })
      // O is a node of ours to Q (it sends PEERS): Q's catch-up would go to it.
      const o = yield* fakePeer(7575)
      const fromO = yield* o.dial(q.address)
      yield* send(fromO, { type: "HANDSHAKE", data: [o.address] })
      const toO = yield* record(yield* o.nextInbound)
      yield* send(fromO, { type: "PEERS", data: { address: o.address, peers: [q.address] } })
      // S is a spec peer: HANDSHAKE only.
      const s = yield* fakePeer(7576)
      const fromS = yield* s.dial(q.address)
      yield* send(fromS, { type: "HANDSHAKE", data: [s.address] })
      const toS = yield* s.nextInbound
      yield* waitForLinks(q, (snapshot) => snapshot.relayTo.includes(o.address) && snapshot.relayTo.includes(s.address))
      yield* toS.close
      yield* fromS.close
      yield* waitForLinks(q, (snapshot) => !snapshot.relayTo.includes(s.address))
      yield* TestClock.adjust(RESYNC_DELAY_MILLIS * 2)
      const pending = Option.getOrElse(yield* toO.pending, () => 0)
      const sent = yield* Effect.replicateEffect(toO.nextMessage, pending)
      expect(sent.map((message) => message.type)).not.toContain("SYNC_SUMMARY")
    }).pipe(Effect.provide(TransportMemory.layerNetwork)),
  )
})

describe("MAX_PEERS", () => {
  const bounded = (maxPeers: number): Partial<MeshSettings> => ({ maxPeers: Option.some(maxPeers) })

  it.scoped("a pair shares one connection, and transactions flow over an inbound-only link", () =>
    Effect.gen(function* () {
      const log = makeTransactionLog()
      // b dials a. If a dials back before b has named itself, the connection b (the smaller address) dialled stays.
      const a = yield* startSimNode({ port: 7581, knownPeers: [], log, mesh: bounded(4) })
      const b = yield* startSimNode({ port: 7580, knownPeers: [7581], log, mesh: bounded(4) })
      yield* waitForLinks(a, (s) => s.relayTo.includes(b.address))
      yield* TestClock.adjust("10 seconds")
      expect((yield* a.links.snapshot).links).toMatchObject([{ address: b.address, direction: "inbound" }])
      expect((yield* b.links.snapshot).links).toMatchObject([{ address: a.address, direction: "outbound" }])
      // a has no outbound connection (its PeerStore is empty), yet relays to b.
      expect((yield* a.peers.snapshot).connected).toEqual([])
      yield* submit(a, tx(30))
      yield* b.pool.sizeChanges.pipe(
        Stream.filter((n) => n > 0),
        Stream.runHead,
      )
      yield* submit(b, tx(31))
      yield* a.pool.sizeChanges.pipe(
        Stream.filter((n) => n > 1),
        Stream.runHead,
      )
    }).pipe(Effect.provide(TransportMemory.layerNetwork)),
  )

  it.scoped("a node with no known peers still shares addresses it learned later in its PEERS", () =>
    Effect.gen(function* () {
      const log = makeTransactionLog()
      const node = yield* startSimNode({ port: 7584, knownPeers: [], log, mesh: bounded(4) })
      // A node of ours (its listener sends our node id), which lists two more addresses.
      const friend = yield* fakePeer(7585, { ours: "listener" })
      const learned = [localAddress(7586), localAddress(7587)]
      yield* send(yield* friend.dial(node.address), { type: "HANDSHAKE", data: [friend.address, ...learned] })
      // The node dials the friend back; its PEERS there samples what it knows.
      const back = yield* record(yield* friend.nextInbound)
      const peers = yield* back.nextMessage.pipe(Effect.repeat({ until: (message) => message.type === "PEERS" }))
      expect(peers.type === "PEERS" && (peers.data.known ?? []).length).toBeGreaterThan(0)
    }).pipe(Effect.provide(TransportMemory.layerNetwork)),
  )

  it.scoped("two nodes that dial each other at once end with one connection", () =>
    Effect.gen(function* () {
      const log = makeTransactionLog()
      const a = yield* startSimNode({ port: 7582, knownPeers: [], log, mesh: bounded(4) })
      const b = yield* startSimNode({ port: 7583, knownPeers: [], log, mesh: bounded(4) })
      // Each hears of the other at the same moment, so both dial.
      const probe = yield* TransportMemory.make("probe")
      const toA = yield* probe.dial(a.address)
      const toB = yield* probe.dial(b.address)
      yield* Effect.all([
        send(toA, { type: "HANDSHAKE", data: [b.address] }),
        send(toB, { type: "HANDSHAKE", data: [a.address] }),
      ])
      yield* TestClock.adjust("30 seconds")
      expect(log.totals().connections).toBe(2)
      const [linksA, linksB] = [yield* a.links.snapshot, yield* b.links.snapshot]
      expect(linksA.links).toHaveLength(1)
      expect(linksB.links).toHaveLength(1)
      // The connection dialled by the smaller address is the one kept, on both ends.
      expect(linksA.links[0]?.direction).toBe("outbound")
      expect(linksB.links[0]?.direction).toBe("inbound")
    }).pipe(Effect.provide(TransportMemory.layerNetwork)),
  )

  it.scoped("a full node accepts newcomers and drops a surplus peer, never a known one: at most k links", () =>
    Effect.gen(function* () {
      const log = makeTransactionLog()
      // The hub knows 7590 (k=4: it dials up to 2 itself, accepts up to 4). The friend has room for
      // everyone, so it never drops the hub itself: what is tested is the hub's own choice.
      const friend = yield* startSimNode({ port: 7590, knownPeers: [], log, mesh: bounded(16) })
      const hub = yield* startSimNode({ port: 7591, knownPeers: [7590], log, mesh: bounded(4) })
      yield* waitForLinks(hub, (s) => s.relayTo.includes(friend.address))
      const joiners = yield* Effect.forEach(
        Array.from({ length: 8 }, (_, i) => 7592 + i),
        (port) => startSimNode({ port, knownPeers: [7591], log, mesh: bounded(8) }),
      )
      yield* TestClock.adjust("30 seconds")
      const snapshot = yield* hub.links.snapshot
      expect(snapshot.links.length).toBeLessThanOrEqual(4)
      expect(snapshot.relayTo).toContain(friend.address)
      // Dropped joiners found other peers through the addresses they were given.
      for (const joiner of joiners) {
        expect((yield* joiner.links.snapshot).links.length).toBeGreaterThan(0)
      }
      // And the network still gets every transaction.
      const everyone = [friend, hub, ...joiners]
      yield* submit(joiners[7] ?? hub, tx(40))
      yield* TestClock.adjust("1 second")
      expect(yield* everyPoolHas(everyone, tx(40).hash)).toBe(true)
    }).pipe(Effect.provide(TransportMemory.layerNetwork)),
  )

  it.scoped("learned addresses are dialled only up to half of MAX_PEERS", () =>
    Effect.gen(function* () {
      const log = makeTransactionLog()
      const node = yield* startSimNode({ port: 7600, knownPeers: [], log, mesh: bounded(6) })
      const others = yield* Effect.forEach(
        Array.from({ length: 8 }, (_, i) => 7601 + i),
        (port) => startSimNode({ port, knownPeers: [], log, mesh: bounded(6) }),
      )
      const peer = yield* fakePeer(7610)
      yield* send(yield* peer.dial(node.address), {
        type: "HANDSHAKE",
        data: [peer.address, ...others.map((other) => other.address)],
      })
      yield* TestClock.adjust("30 seconds")
      const snapshot = yield* node.links.snapshot
      expect(snapshot.links.filter((link) => link.direction === "outbound")).toHaveLength(3)
    }).pipe(Effect.provide(TransportMemory.layerNetwork)),
  )
})

describe("PEERS announcements", () => {
  it.scoped(
    "while peers keep coming a node waits for them to stop before it announces; a lost peer is announced one delay after",
    () =>
      Effect.gen(function* () {
        const log = makeTransactionLog()
        // No redial within the test: a peer that goes stays gone.
        const node = yield* startSimNode({ port: 7581, knownPeers: [], log, healing: { redialBaseMillis: 60_000 } })
        const [p1, p2, p3, p4] = yield* Effect.forEach([7582, 7583, 7584, 7585], (port) =>
          fakePeer(port, { ours: "listener" }),
        )
        if (p1 === undefined || p2 === undefined || p3 === undefined || p4 === undefined)
          return expect.fail("four peers")
        // A peer dials the node with its HANDSHAKE; the node dials it back with HANDSHAKE, SYNC_SUMMARY and PEERS.
        const join = (peer: typeof p1) =>
          Effect.gen(function* () {
            yield* send(yield* peer.dial(node.address), { type: "HANDSHAKE", data: [peer.address] })
            const back = yield* record(yield* peer.nextInbound)
            for (const type of ["HANDSHAKE", "SYNC_SUMMARY", "PEERS"])
              expect(yield* back.nextMessage).toMatchObject({ type })
            yield* waitForLinks(node, (s) => s.relayTo.includes(peer.address))
            return back
          })
        const announced = (back: Effect.Effect.Success<ReturnType<typeof join>>) =>
          Effect.map(back.nextMessage, (message) => (message.type === "PEERS" ? [...message.data.peers].sort() : []))

        // Peers every 200 ms: nothing is announced until four delays (1 s) pass with no new one.
        const first = yield* join(p1)
        yield* TestClock.adjust("200 millis")
        const second = yield* join(p2)
        yield* TestClock.adjust("200 millis")
        yield* join(p3)
        yield* TestClock.adjust("900 millis")
        expect(yield* first.pending).toEqual(Option.some(0))
        yield* TestClock.adjust("350 millis")
        const all = [p1.address, p2.address, p3.address].sort()
        expect(yield* announced(first)).toEqual(all)
        expect(yield* announced(second)).toEqual(all)

        // A peer lost is announced one delay after, though another comes meanwhile.
        yield* second.connection.close
        yield* waitForLinks(node, (s) => !s.relayTo.includes(p2.address))
        yield* TestClock.adjust("200 millis")
        yield* join(p4)
        yield* TestClock.adjust("50 millis")
        expect(yield* announced(first)).toEqual([p1.address, p3.address, p4.address].sort())
      }).pipe(Effect.provide(TransportMemory.layerNetwork)),
  )

  it.scoped("peers that keep coming are announced at most sixteen delays (4 s) after the first", () =>
    Effect.gen(function* () {
      const log = makeTransactionLog()
      const node = yield* startSimNode({ port: 7591, knownPeers: [], log })
      const peers = yield* Effect.forEach(
        Array.from({ length: 24 }, (_, i) => 7592 + i),
        (port) => fakePeer(port, { ours: "listener" }),
      )
      const join = (peer: (typeof peers)[number]) =>
        Effect.gen(function* () {
          yield* send(yield* peer.dial(node.address), { type: "HANDSHAKE", data: [peer.address] })
          const back = yield* record(yield* peer.nextInbound)
          for (const type of ["HANDSHAKE", "SYNC_SUMMARY", "PEERS"])
            expect(yield* back.nextMessage).toMatchObject({ type })
          return back
        })
      const [firstPeer, ...others] = peers
      if (firstPeer === undefined) return expect.fail("peers")
      const first = yield* join(firstPeer)
      // A new peer every 200 ms: never four quiet delays in a row.
      for (const peer of others.slice(0, 19)) {
        yield* TestClock.adjust("200 millis")
        yield* join(peer)
      }
      // 3.8 s after the first: nothing yet. By 4 s: one announcement, with every peer so far.
      expect(yield* first.pending).toEqual(Option.some(0))
      yield* TestClock.adjust("250 millis")
      const message = yield* first.nextMessage
      expect(message.type === "PEERS" ? message.data.peers.length : 0).toBe(20)
    }).pipe(Effect.provide(TransportMemory.layerNetwork)),
  )
})
