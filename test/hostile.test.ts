import { hostname } from "node:os"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Option, Queue, TestClock } from "effect"
import { type Address, localAddress } from "../src/domain/Address.js"
import { makeTransaction, type Transaction } from "../src/domain/Transaction.js"
import * as TransportMemory from "../src/layers/TransportMemory.js"
import type { Connection } from "../src/services/Transport.js"
import { startGuardedNode } from "./support/guardedNode.js"
import { type CapturedLog, withLogs } from "./support/logs.js"
import { fakePeer, record, send, startMemoryNode, waitForPeers, waitForPoolSize } from "./support/memoryNode.js"

// TestClock starts at 0, so these timestamps are in the node's past.
const txAt = (timeStamp: number, amount = 1): Transaction =>
  makeTransaction({ fromAddress: null, toAddress: "04ab", amount, timeStamp })

/** Sends a HANDSHAKE naming `marker` and waits until the node dials it: every earlier frame was handled. */
const sync = (socket: Connection, marker: { address: Address; nextInbound: Effect.Effect<Connection, unknown> }) =>
  Effect.gen(function* () {
    yield* send(socket, { type: "HANDSHAKE", data: [marker.address] })
    return yield* marker.nextInbound
  })

/** Waits until the connection is closed (its frames end). */
const closed = (connection: Connection) => Effect.repeat(connection.receive, { until: Option.isNone })

describe("hostile frames", () => {
  it.scoped("every kind of bad frame is refused with one line naming the peer, the reason and the limit", () =>
    withLogs((logs) =>
      Effect.gen(function* () {
        const node = yield* startGuardedNode(4001, { limits: { maxPayloadBytes: 1000, maxJsonDepth: 4 } })
        const client = yield* fakePeer(4200)
        const marker = yield* fakePeer(4105)
        const socket = yield* client.dial(node.address)
        const tx = txAt(1_000)
        const cases: ReadonlyArray<readonly [string, string | Uint8Array]> = [
          ["not JSON", "not json at all"],
          ["not JSON", '{"type":"TRANSACTION",'],
          ["binary frame", new Uint8Array([123, 125])],
          ["no message type", "[1,2,3]"],
          ["no message type", JSON.stringify({ data: [] })],
          ["no message type", JSON.stringify({ type: 7, data: [] })],
          ["invalid message", JSON.stringify({ type: "HANDSHAKE", data: "ws://localhost:4105" })],
          ["invalid message", JSON.stringify({ type: "TRANSACTION", data: { ...tx, amount: 2 } })],
          ["invalid message", JSON.stringify({ type: "TRANSACTION", data: { ...tx, amount: -1 } })],
          ["invalid message", JSON.stringify({ type: "TRANSACTION", data: { ...tx, amount: "1" } })],
          ["invalid message", JSON.stringify({ type: "TRANSACTION", data: { ...tx, hash: undefined } })],
          // JSON has no Infinity, but 1e999 parses to it.
          [
            "invalid message",
            JSON.stringify({ type: "TRANSACTION", data: tx }).replace('"amount":1', '"amount":1e999'),
          ],
          ["too large", JSON.stringify({ type: "HANDSHAKE", data: ["x".repeat(2_000)] })],
          ["too deeply nested", '{"type":"HANDSHAKE","data":[[[[["ws://localhost:4105"]]]]]}'],
        ]
        for (const [, frame] of cases) yield* socket.send(frame)
        yield* socket.send(JSON.stringify({ type: "PING", data: 1 }))
        yield* sync(socket, marker)

        const refused = yield* logs.named("frame refused")
        expect(refused.map((line) => line.annotations.reason)).toEqual(cases.map(([reason]) => reason))
        for (const line of refused) {
          expect(line.level).toBe("WARN")
          expect(line.annotations.remote).toMatch(/^localhost:\d+$/)
          expect(line.annotations.limit).toEqual(expect.any(String))
          expect(line.annotations.node).toBe(node.address)
        }
        const byReason = new Map(refused.map((line) => [line.annotations.reason, line.annotations.limit]))
        expect(byReason.get("too large")).toBe("1000 bytes")
        expect(byReason.get("too deeply nested")).toBe("depth 4")
        // The detail says what is wrong, briefly.
        expect(refused.map((line) => line.annotations.detail)).toContain(
          "data: hash does not match the transaction's fields",
        )
        expect(refused.map((line) => line.annotations.detail)).toContain(
          "data.amount: Expected a positive number, actual -1",
        )
        const unknown = yield* logs.named("message of unknown type ignored")
        expect(unknown.map((line) => [line.level, line.annotations.type])).toEqual([["DEBUG", "PING"]])
        expect(yield* node.pool.size).toBe(0)
        // The peer is still connected and heard: a valid transaction gets through.
        yield* send(socket, { type: "TRANSACTION", data: tx })
        yield* waitForPoolSize(node.pool, 1)
        expect(yield* node.pool.list).toEqual([tx])
      }),
    ).pipe(Effect.provide(TransportMemory.layerNetwork)),
  )

  it.scoped("a peer that keeps sending bad frames is disconnected; other peers carry on", () =>
    withLogs((logs) =>
      Effect.gen(function* () {
        const node = yield* startGuardedNode(4001, { limits: { badFramesPerMinute: 3 } })
        const bad = yield* (yield* fakePeer(4200)).dial(node.address)
        const good = yield* (yield* fakePeer(4201)).dial(node.address)
        for (let i = 0; i < 10; i++) yield* bad.send(`garbage ${i}`)
        yield* closed(bad)
        const [line] = yield* logs.named("peer disconnected: too many bad frames")
        expect(line?.annotations).toMatchObject({ limit: "3 bad frames a minute", remote: expect.any(String) })
        // Three frames fit the budget, the fourth broke it: nothing after it was even read.
        expect((yield* logs.named("frame refused")).length).toBe(4)
        const tx = txAt(1_000)
        yield* send(good, { type: "TRANSACTION", data: tx })
        yield* waitForPoolSize(node.pool, 1)
      }),
    ).pipe(Effect.provide(TransportMemory.layerNetwork)),
  )

  it.scoped("the bad-frame budget refills over time, so an occasional bad frame is forgiven", () =>
    withLogs((logs) =>
      Effect.gen(function* () {
        const node = yield* startGuardedNode(4001, { limits: { badFramesPerMinute: 3 } })
        const marker = yield* fakePeer(4105)
        const socket = yield* (yield* fakePeer(4200)).dial(node.address)
        for (let minute = 0; minute < 3; minute++) {
          for (let i = 0; i < 3; i++) yield* socket.send("garbage")
          yield* TestClock.adjust("1 minute")
        }
        yield* sync(socket, marker)
        expect(yield* logs.named("peer disconnected: too many bad frames")).toEqual([])
        expect((yield* logs.named("frame refused")).length).toBe(9)
      }),
    ).pipe(Effect.provide(TransportMemory.layerNetwork)),
  )

  it.scoped("frames over a connection's rate limit are refused; the connection's budget refills", () =>
    withLogs((logs) =>
      Effect.gen(function* () {
        const node = yield* startGuardedNode(4001, { limits: { messagesPerSecond: 1, messageBurst: 3 } })
        const socket = yield* (yield* fakePeer(4200)).dial(node.address)
        const other = yield* (yield* fakePeer(4201)).dial(node.address)
        const txs = [1, 2, 3, 4, 5].map((amount) => txAt(1_000, amount))
        for (const tx of txs.slice(0, 4)) yield* send(socket, { type: "TRANSACTION", data: tx })
        yield* logs.waitFor((line) => line.annotations.reason === "rate limit exceeded")
        expect(yield* node.pool.list).toEqual(txs.slice(0, 3))
        const [line] = yield* logs.named("frame refused")
        expect(line?.annotations).toMatchObject({ reason: "rate limit exceeded", limit: "1 messages/s, bursts of 3" })
        // Another peer has its own budget.
        const fromOther = txAt(1_000, 9)
        yield* send(other, { type: "TRANSACTION", data: fromOther })
        yield* waitForPoolSize(node.pool, 4)
        // One second later there is a token again.
        yield* TestClock.adjust("1 second")
        yield* send(socket, { type: "TRANSACTION", data: txs[4] ?? fromOther })
        yield* waitForPoolSize(node.pool, 5)
        expect(yield* node.pool.list).toEqual([...txs.slice(0, 3), fromOther, txs[4]])
      }),
    ).pipe(Effect.provide(TransportMemory.layerNetwork)),
  )
})

describe("hostile addresses", () => {
  it.scoped("invalid addresses are refused in one line and never dialled", () =>
    withLogs((logs) =>
      Effect.gen(function* () {
        const node = yield* startGuardedNode(4001)
        const marker = yield* fakePeer(4105)
        const socket = yield* (yield* fakePeer(4200)).dial(node.address)
        const garbage = [
          "http://localhost:4106",
          "file:///etc/passwd",
          "javascript:alert(1)",
          "ws://localhost",
          "ws://localhost:0",
          "ws://user:pw@localhost:4106",
          "ws://localhost:4106/path",
          "ws://127.1:4106",
          "ws://0.0.0.0:4106",
          42,
          null,
          { address: "ws://localhost:4106" },
          ["ws://localhost:4106"],
        ]
        yield* send(socket, { type: "HANDSHAKE", data: [...garbage, marker.address] })
        yield* marker.nextInbound
        expect(yield* node.dialled).toEqual([marker.address])
        const [line, ...more] = yield* logs.named("address refused")
        expect(more).toEqual([])
        expect(line?.annotations.count).toBe(garbage.length)
        expect(line?.annotations.refused).toContainEqual({
          address: "file:///etc/passwd",
          reason: "not a ws:// or wss:// URL",
        })
      }),
    ).pipe(Effect.provide(TransportMemory.layerNetwork)),
  )

  it.scoped("a handshake's addresses beyond the limit are dropped with a line", () =>
    withLogs((logs) =>
      Effect.gen(function* () {
        const node = yield* startGuardedNode(4001, { limits: { maxHandshakeAddresses: 3 } })
        const peers = yield* Effect.forEach([4101, 4102, 4103, 4104, 4105], (port) => fakePeer(port))
        const socket = yield* (yield* fakePeer(4200)).dial(node.address)
        yield* send(socket, { type: "HANDSHAKE", data: peers.map((peer) => peer.address) })
        const marker = yield* fakePeer(4300)
        yield* sync(socket, marker)
        expect([...(yield* node.dialled)].sort()).toEqual([...peers.slice(0, 3).map((p) => p.address), marker.address])
        const [line] = yield* logs.named("handshake addresses dropped")
        expect(line?.annotations).toMatchObject({ dropped: 2, limit: "3 addresses a handshake" })
      }),
    ).pipe(Effect.provide(TransportMemory.layerNetwork)),
  )

  it.scoped("dials go through a bounded queue, a few at a time, each with a timeout", () =>
    withLogs((logs) =>
      Effect.gen(function* () {
        const started = yield* Queue.unbounded<Address>()
        // A network where every dial hangs, as to an address that drops packets.
        const node = yield* startGuardedNode(4001, {
          limits: { dialConcurrency: 2, dialQueueSize: 3, dialTimeoutMillis: 5_000 },
          // One attempt per address: this test counts dials, not redials.
          healing: { redialLearnedAttempts: 1 },
          dial: () => (address) => Effect.zipRight(Queue.offer(started, address), Effect.never),
        })
        const socket = yield* (yield* fakePeer(4200)).dial(node.address)
        const handshake = (ports: ReadonlyArray<number>) =>
          send(socket, { type: "HANDSHAKE", data: ports.map(localAddress) })
        // Ten addresses in one handshake: two in flight and three waiting fit; five are refused.
        yield* handshake([5000, 5001, 5002, 5003, 5004, 5005, 5006, 5007, 5008, 5009])
        const full = (line: CapturedLog) => line.message.includes("dial queue full (limit 3 waiting dials)")
        yield* logs.waitForCount(full, 5)
        yield* Queue.takeN(started, 2)
        expect((yield* node.peers.snapshot).dialling.length).toBe(5)
        // While the queue is full, more addresses are dropped before any work, in one line a second.
        const dropped = (line: CapturedLog) => line.message === "dial queue full: addresses dropped"
        yield* handshake([5010, 5011, 5012])
        const [first] = yield* logs.waitForCount(dropped, 1)
        expect(first?.annotations).toMatchObject({ count: 1, limit: "3 waiting dials" })
        yield* TestClock.adjust(1_000)
        yield* handshake([5013])
        const [, second] = yield* logs.waitForCount(dropped, 2)
        expect(second?.annotations.count).toBe(3)
        expect((yield* node.peers.snapshot).dialling.length).toBe(5)
        // Each dial times out; the waiting ones then get their turn, two at a time.
        yield* TestClock.adjust(4_000)
        yield* Queue.takeN(started, 2)
        expect(yield* Queue.size(started)).toBe(0)
        yield* TestClock.adjust(5_000)
        yield* Queue.take(started)
        yield* TestClock.adjust(5_000)
        const timedOut = (line: CapturedLog) => line.message.includes("dial timed out after 5000 ms")
        yield* logs.waitForCount(timedOut, 5)
        yield* waitForPeers(node.peers, (s) => s.dialling.length === 0)
        expect((yield* node.dialled).length).toBe(5)
      }),
    ).pipe(Effect.provide(TransportMemory.layerNetwork)),
  )

  it.scoped("a node never dials its own address or an alias of it", () =>
    Effect.gen(function* () {
      const node = yield* startGuardedNode(4001)
      const marker = yield* fakePeer(4105)
      const socket = yield* (yield* fakePeer(4200)).dial(node.address)
      const aliases = [
        "ws://localhost:4001",
        "ws://LOCALHOST:4001/",
        "wss://localhost:4001",
        "ws://127.0.0.1:4001",
        "ws://[::1]:4001",
        "ws://[0:0:0:0:0:0:0:1]:4001",
        "ws://0.0.0.0:4001",
        `ws://${hostname()}:4001`,
      ]
      yield* send(socket, { type: "HANDSHAKE", data: [...aliases, marker.address] })
      yield* marker.nextInbound
      expect(yield* node.dialled).toEqual([marker.address])
    }).pipe(Effect.provide(TransportMemory.layerNetwork)),
  )

  it.scoped("a dial that reaches the node itself is detected by its node id, closed and remembered", () =>
    withLogs((logs) =>
      Effect.gen(function* () {
        const node = yield* startGuardedNode(4001)
        // Another name for the node that no list of local names knows: a DNS alias, say.
        const network = yield* TransportMemory.MemoryNetwork
        const listener = network.listeners.get("localhost:4001")
        if (listener === undefined) return expect.fail("the node is not listening")
        network.listeners.set("mirror.test:4001", listener)
        const alias = "ws://mirror.test:4001" as Address
        const socket = yield* (yield* fakePeer(4200)).dial(node.address)
        yield* send(socket, { type: "HANDSHAKE", data: [alias] })
        const [line] = yield* Effect.map(
          logs.waitFor((l) => l.message === "dialled itself: address remembered as its own"),
          (l) => [l],
        )
        expect(line?.annotations.address).toBe(alias)
        yield* waitForPeers(node.peers, (s) => s.dialling.length === 0)
        // Remembered in the peer table, where /peers shows it.
        expect(yield* node.peers.entry(alias)).toMatchObject({
          state: { _tag: "Own" },
          reason: "leads back to this node",
        })
        const marker = yield* fakePeer(4105)
        yield* send(socket, { type: "HANDSHAKE", data: [alias, marker.address] })
        yield* marker.nextInbound
        expect(yield* node.dialled).toEqual([alias, marker.address])
        expect((yield* node.peers.snapshot).connected).toEqual([marker.address])
      }),
    ).pipe(Effect.provide(TransportMemory.layerNetwork)),
  )
})

describe("hostile limits", () => {
  it.scoped("a dial beyond the maximum of connections is refused with a line; it gets a slot once one frees", () =>
    withLogs((logs) =>
      Effect.gen(function* () {
        const node = yield* startGuardedNode(4001, { limits: { maxConnections: 2, reservedOutbound: 0 } })
        const first = yield* (yield* fakePeer(4200)).dial(node.address)
        const second = yield* (yield* fakePeer(4201)).dial(node.address)
        yield* logs.waitForCount((line) => line.message === "inbound connection opened", 2)
        const refusal = (direction: string) => (line: { message: string; annotations: Record<string, unknown> }) =>
          line.message === "connection refused: too many connections" && line.annotations.direction === direction
        // A dial needs a slot. (An inbound newcomer would make room by evicting a stranger: tested below.)
        const wanted = yield* fakePeer(4105)
        yield* send(first, { type: "HANDSHAKE", data: [wanted.address] })
        yield* logs.waitForCount(refusal("outbound"), 1)
        yield* waitForPeers(node.peers, (s) => s.dialling.length === 0)
        expect(yield* wanted.acceptedCount).toBe(0)
        // A slot frees when a connection ends, and the node is as responsive as before.
        yield* second.close
        yield* logs.waitForCount((line) => line.message === "inbound connection closed", 1)
        yield* send(first, { type: "HANDSHAKE", data: [wanted.address] })
        yield* wanted.nextInbound
      }),
    ).pipe(Effect.provide(TransportMemory.layerNetwork)),
  )

  it.scoped("inbound connections leave the reserved slots to our dials; a newcomer evicts the newest stranger", () =>
    withLogs((logs) =>
      Effect.gen(function* () {
        const node = yield* startGuardedNode(4001, { limits: { maxConnections: 4, reservedOutbound: 2 } })
        const opened = (count: number) =>
          logs.waitForCount((line) => line.message === "inbound connection opened", count)
        const first = yield* (yield* fakePeer(4200)).dial(node.address)
        yield* opened(1)
        const second = yield* (yield* fakePeer(4201)).dial(node.address)
        yield* opened(2)
        // Two slots are free, but both are kept for our dials: a third stranger takes the newest one's.
        yield* (yield* fakePeer(4202)).dial(node.address)
        yield* closed(second)
        yield* opened(3)
        const [evicted] = yield* logs.waitForCount(
          (line) => line.message === "inbound connection evicted: connection slots full",
          1,
        )
        expect(evicted?.annotations.limit).toBe("2 inbound connections")
        // The node still reaches the peers it is told of, on the slots kept for it.
        const wanted = [yield* fakePeer(4105), yield* fakePeer(4106)]
        yield* send(first, { type: "HANDSHAKE", data: wanted.map((peer) => peer.address) })
        yield* Effect.forEach(wanted, (peer) => peer.nextInbound, { discard: true })
        yield* waitForPeers(node.peers, (s) => wanted.every((peer) => s.connected.includes(peer.address)))
      }),
    ).pipe(Effect.provide(TransportMemory.layerNetwork)),
  )

  it.scoped("inbound slots held by nodes of ours that named themselves are not given up to a stranger", () =>
    withLogs((logs) =>
      Effect.gen(function* () {
        const limits = { maxConnections: 4, reservedOutbound: 2 }
        const node = yield* startGuardedNode(4001, { limits })
        // Two nodes of ours dial it; it adopts their connections (one per pair), so both are named.
        yield* startMemoryNode(4002, [4001])
        yield* startMemoryNode(4003, [4001])
        yield* waitForPeers(node.peers, (s) => s.connected.length === 2)
        const stranger = yield* (yield* fakePeer(4202)).dial(node.address)
        yield* closed(stranger)
        const [refusal] = yield* logs.waitForCount(
          (line) => line.message === "connection refused: too many connections",
          1,
        )
        expect(refusal?.annotations).toMatchObject({
          direction: "inbound",
          limit: "2 inbound connections (2 of 4 kept for our own dials)",
        })
      }),
    ).pipe(Effect.provide(TransportMemory.layerNetwork)),
  )

  it.scoped("a transaction timestamped too far in the future is neither stored nor forwarded", () =>
    withLogs((logs) =>
      Effect.gen(function* () {
        const now = 1_700_000_000_000
        yield* TestClock.setTime(now)
        const node = yield* startGuardedNode(4001, { limits: { futureToleranceMillis: 60_000 } })
        const observer = yield* fakePeer(4105)
        const socket = yield* (yield* fakePeer(4200)).dial(node.address)
        const toObserver = yield* record(yield* sync(socket, observer))
        expect((yield* toObserver.nextSpecMessage).type).toBe("HANDSHAKE")
        yield* waitForPeers(node.peers, (s) => s.connected.includes(observer.address))

        const future = txAt(now + 60_001)
        const edge = txAt(now + 60_000)
        yield* send(socket, { type: "TRANSACTION", data: future })
        yield* send(socket, { type: "TRANSACTION", data: edge })
        yield* waitForPoolSize(node.pool, 1)
        expect(yield* node.pool.list).toEqual([edge])
        // The first transaction the observer is sent is the one within the tolerance.
        expect(yield* toObserver.nextSpecMessage).toEqual({ type: "TRANSACTION", data: edge })
        const [line] = yield* logs.named("transaction refused")
        expect(line?.annotations).toMatchObject({
          reason: "timestamp too far in the future",
          limit: "60000 ms ahead of the node's clock",
          remote: expect.any(String),
        })
        // Once the clock has caught up, the same transaction is welcome.
        yield* TestClock.adjust(1)
        yield* send(socket, { type: "TRANSACTION", data: future })
        yield* waitForPoolSize(node.pool, 2)
      }),
    ).pipe(Effect.provide(TransportMemory.layerNetwork)),
  )
})
