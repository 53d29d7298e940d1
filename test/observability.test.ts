import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Exit, Schema, Scope, TestClock } from "effect"
import packageJson from "../package.json" with { type: "json" }
import { localAddress } from "../src/domain/Address.js"
import { decodeFrame, traceparentIn } from "../src/domain/Message.js"
import { NodeStatus, poolDigest } from "../src/domain/NodeStatus.js"
import { Traceparent } from "../src/domain/TraceContext.js"
import { makeTransaction } from "../src/domain/Transaction.js"
import * as TransportMemory from "../src/layers/TransportMemory.js"
import { fakePeer, record, send, waitForPeers, waitForPoolSize } from "./support/memoryNode.js"
import { startObservedNode } from "./support/observedNode.js"

const tx = makeTransaction({ fromAddress: null, toAddress: "04abcdef", amount: 42, timeStamp: 1_700_000_000_000 })
const other = makeTransaction({ ...tx, amount: 7 })
const decodeStatus = Schema.decodeUnknown(Schema.parseJson(NodeStatus))
const traceId = "4bf92f3577b34da6a3ce929d0e0e4736"
const traceparent = Traceparent.make(`00-${traceId}-00f067aa0ba902b7-01`)

describe("per-node statistics and the HTTP side", () => {
  it.scoped("each node of a process keeps its own counters, and /status and /metrics report them", () =>
    Effect.gen(function* () {
      // Nodes refuse transactions from the future: let the test's clock read the transaction's time.
      yield* TestClock.setTime(tx.timeStamp)
      const a = yield* startObservedNode(4001)
      const b = yield* startObservedNode(4002)
      const client = yield* fakePeer(4200)
      const toA = yield* client.dial(a.address)
      yield* send(toA, { type: "TRANSACTION", data: tx })
      yield* send(toA, { type: "TRANSACTION", data: tx })
      yield* toA.send("not json")
      yield* toA.send(JSON.stringify({ type: "PING", data: 1 }))
      yield* send(toA, { type: "TRANSACTION", data: other })
      yield* send(yield* client.dial(b.address), { type: "TRANSACTION", data: other })
      yield* waitForPoolSize(a.pool, 2)
      yield* waitForPoolSize(b.pool, 1)

      const statusA = yield* decodeStatus((yield* a.get("/status")).body)
      expect(statusA).toMatchObject({
        address: "ws://localhost:4001",
        connected: [],
        pool: { size: 2, digest: poolDigest([other.hash, tx.hash]) },
        counters: { transactionsAccepted: 2, transactionsDuplicate: 1, framesRefused: 1, inboundConnections: 1 },
        messagesReceived: { TRANSACTION: 3, OTHER: 1 },
      })
      expect(statusA.recent.map((entry) => entry.hash)).toEqual([tx.hash, other.hash])
      const statusB = yield* decodeStatus((yield* b.get("/status")).body)
      expect(statusB).toMatchObject({
        pool: { size: 1, digest: poolDigest([other.hash]) },
        counters: { transactionsAccepted: 1, transactionsDuplicate: 0, framesRefused: 0 },
        messagesReceived: { TRANSACTION: 1 },
      })

      const metrics = yield* a.get("/metrics")
      expect(metrics.status).toBe(200)
      expect(metrics.headers["content-type"]).toContain("text/plain; version=0.0.4")
      for (const line of [
        "# TYPE meshnode_transactions_accepted_total counter",
        "meshnode_transactions_accepted_total 2",
        "meshnode_transactions_duplicate_total 1",
        'meshnode_frames_refused_total{reason="not_JSON"} 1',
        'meshnode_frames_refused_total{reason="binary_frame"} 0',
        'meshnode_messages_received_total{type="TRANSACTION"} 3',
        'meshnode_connections_opened_total{direction="inbound"} 1',
        'meshnode_peers{state="connected"} 0',
        "meshnode_pool_size 2",
      ]) {
        expect(metrics.body.split("\n")).toContain(line)
      }
      expect((yield* b.get("/metrics")).body.split("\n")).toContain("meshnode_transactions_accepted_total 1")
    }).pipe(Effect.provide(TransportMemory.layerNetwork)),
  )

  it.scoped("/metrics carries the process's metrics, the build, and histograms of propagation and pool writes", () =>
    Effect.gen(function* () {
      // Made 250 ms before the node's clock reads it: that is its propagation time.
      yield* TestClock.setTime(tx.timeStamp + 250)
      const node = yield* startObservedNode(4001)
      const client = yield* fakePeer(4200)
      yield* send(yield* client.dial(node.address), { type: "TRANSACTION", data: tx })
      yield* waitForPoolSize(node.pool, 1)
      yield* node.stats.poolWritten(3)
      const lines = (yield* node.get("/metrics")).body.split("\n")
      const value = (name: string) => {
        const line = lines.find((l) => l.startsWith(`${name} `))
        return line === undefined ? undefined : Number(line.slice(name.length + 1))
      }
      for (const name of [
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
        "nodejs_heap_size_used_bytes",
        "nodejs_eventloop_lag_seconds",
        "process_open_fds",
        "meshnode_log_lines_dropped_total",
      ]) {
        expect(value(name), name).toBeGreaterThanOrEqual(0)
      }
      expect(lines).toContain(
        `meshnode_build_info{version="${packageJson.version}",nodejs="${process.versions.node}"} 1`,
      )
      expect(lines).toContain("# TYPE meshnode_transaction_propagation_seconds histogram")
      expect(lines).toContain('meshnode_transaction_propagation_seconds_bucket{le="0.1"} 0')
      expect(lines).toContain('meshnode_transaction_propagation_seconds_bucket{le="0.25"} 1')
      expect(value("meshnode_transaction_propagation_seconds_count")).toBe(1)
      expect(value("meshnode_transaction_propagation_seconds_sum")).toBe(0.25)
      expect(lines).toContain('meshnode_pool_write_seconds_bucket{le="0.0025"} 0')
      expect(lines).toContain('meshnode_pool_write_seconds_bucket{le="0.005"} 1')
      expect(value("meshnode_pool_write_seconds_count")).toBe(1)
      // Every family once: a Prometheus scrape refuses a family that repeats.
      const families = lines.filter((l) => l.startsWith("# TYPE ")).map((l) => l.split(" ")[2])
      expect(new Set(families).size).toBe(families.length)
    }).pipe(Effect.provide(TransportMemory.layerNetwork)),
  )

  it.scoped("three connected nodes report each other, agree on the pool digest, and count handshakes", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(tx.timeStamp)
      const nodes = yield* Effect.forEach([4001, 4002, 4003], (port) => startObservedNode(port, [4001, 4003]))
      for (const node of nodes) yield* waitForPeers(node.peers, (s) => s.connected.length === 2)
      const client = yield* fakePeer(4200)
      const [first] = nodes
      if (first === undefined) return
      yield* send(yield* client.dial(first.address), { type: "TRANSACTION", data: tx })
      for (const node of nodes) yield* waitForPoolSize(node.pool, 1)
      const statuses = yield* Effect.forEach(nodes, (node) =>
        Effect.flatMap(node.get("/status"), (response) => decodeStatus(response.body)),
      )
      for (const status of statuses) {
        const others = statuses.filter((s) => s !== status).map((s) => s.address)
        expect([...status.connected].sort()).toEqual(others.sort())
        expect(status.pool.digest).toBe(poolDigest([tx.hash]))
        expect(status.counters.transactionsAccepted).toBe(1)
      }
      // Each end of each pair dialled the other or adopted its connection (pairing.ts): three to six
      // connections, as the nodes heard of each other one at a time or at once. Each connection is opened
      // by one HANDSHAKE, and an adopted one answered by one.
      const total = (count: (status: (typeof statuses)[number]) => number | undefined) =>
        statuses.reduce((sum, status) => sum + (count(status) ?? 0), 0)
      const outbound = total((s) => s.counters.outboundConnections)
      const adopted = total((s) => s.counters.adoptedConnections)
      expect(outbound).toBeGreaterThanOrEqual(3)
      expect(outbound + adopted).toBe(6)
      expect(total((s) => s.messagesSent.HANDSHAKE)).toBe(6)
    }).pipe(Effect.provide(TransportMemory.layerNetwork)),
  )

  it.scoped("/status lists the peers a node knows of: configured, and every one it was connected to", () =>
    Effect.gen(function* () {
      const a = yield* startObservedNode(4001, [4003])
      // Node 4002 dials 4001 and then stops: 4001 never had it configured, and still knows of it.
      const scope = yield* Scope.make()
      yield* Scope.extend(startObservedNode(4002, [4001]), scope)
      yield* waitForPeers(a.peers, (s) => s.connected.includes(localAddress(4002)))
      yield* Scope.close(scope, Exit.void)
      yield* waitForPeers(a.peers, (s) => !s.connected.includes(localAddress(4002)))
      const status = yield* decodeStatus((yield* a.get("/status")).body)
      expect(status.known).toEqual(["ws://localhost:4002", "ws://localhost:4003"])
      // An answer without the field (an older node) decodes with none.
      const { known: _known, ...older } = status
      expect((yield* decodeStatus(JSON.stringify(older))).known).toEqual([])
    }).pipe(Effect.provide(TransportMemory.layerNetwork)),
  )

  it.scoped("the HTTP side serves the dashboard, and says no to other paths and methods", () =>
    Effect.gen(function* () {
      const node = yield* startObservedNode(4001)
      const page = yield* node.get("/")
      expect(page.status).toBe(200)
      expect(page.headers["content-type"]).toBe("text/html; charset=utf-8")
      expect(page.body).toContain("<svg")
      expect((yield* node.get("/status?pretty")).status).toBe(200)
      expect((yield* node.get("/nope")).status).toBe(404)
      expect(yield* (yield* startObservedNode(4002)).get("/status")).toMatchObject({
        headers: { "access-control-allow-origin": "*" },
      })
    }).pipe(Effect.provide(TransportMemory.layerNetwork)),
  )
})

describe("trace context in TRANSACTION messages", () => {
  it("our decoder accepts it beside type and data, ignores a malformed one, and strips unknown fields", () => {
    const frame = (extra: Record<string, unknown>) => JSON.stringify({ type: "TRANSACTION", data: tx, ...extra })
    const decoded = decodeFrame(frame({ traceparent, note: "x" }))
    expect(decoded).toEqual(Either.right({ type: "TRANSACTION", data: tx, traceparent }))
    if (Either.isRight(decoded) && decoded.right.type === "TRANSACTION") {
      expect(traceparentIn(decoded.right)).toBe(traceparent)
    }
    for (const malformed of ["00-nonsense", 42]) {
      const message = decodeFrame(frame({ traceparent: malformed }))
      // The transaction stands; the trace context is not used.
      expect(Either.map(message, ({ type, data }) => ({ type, data }))).toEqual(
        Either.right({ type: "TRANSACTION", data: tx }),
      )
      if (Either.isRight(message) && message.right.type === "TRANSACTION")
        expect(traceparentIn(message.right)).toBeUndefined()
    }
  })

  /** A node on 4001 with an observer peer connected to it; answers the node and the observer's recorder. */
  const nodeWithObserver = (propagate: boolean) =>
    Effect.gen(function* () {
      const node = yield* startObservedNode(4001, [], { propagate })
      const observer = yield* fakePeer(4104, { ours: "listener" })
      yield* send(yield* observer.dial(node.address), { type: "HANDSHAKE", data: [observer.address] })
      const inbound = yield* record(yield* observer.nextInbound)
      expect((yield* inbound.nextSpecMessage).type).toBe("HANDSHAKE")
      yield* waitForPeers(node.peers, (s) => s.connected.includes(observer.address))
      return { node, inbound }
    })

  it.scoped("with propagation on, a forwarded transaction continues the sender's trace", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(tx.timeStamp)
      const { node, inbound } = yield* nodeWithObserver(true)
      const client = yield* fakePeer(4200)
      yield* send(yield* client.dial(node.address), { type: "TRANSACTION", data: tx, traceparent })
      const forwarded = yield* inbound.nextSpecMessage
      expect(forwarded).toMatchObject({ type: "TRANSACTION", data: tx })
      if (forwarded.type !== "TRANSACTION") return
      // Same trace, the node's own span as the parent of the next hop.
      expect(forwarded.traceparent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`))
      expect(forwarded.traceparent).not.toBe(traceparent)
    }).pipe(Effect.provide(TransportMemory.layerNetwork)),
  )

  it.scoped("with propagation on, a transaction without trace context starts a trace of its own", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(tx.timeStamp)
      const { node, inbound } = yield* nodeWithObserver(true)
      const client = yield* fakePeer(4200)
      yield* send(yield* client.dial(node.address), { type: "TRANSACTION", data: tx })
      const forwarded = yield* inbound.nextSpecMessage
      if (forwarded.type !== "TRANSACTION") return expect.fail("expected a TRANSACTION")
      expect(forwarded.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/)
    }).pipe(Effect.provide(TransportMemory.layerNetwork)),
  )

  it.scoped("with propagation off (no tracing backend), forwarded frames are exactly the spec's", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(tx.timeStamp)
      const { node, inbound } = yield* nodeWithObserver(false)
      const client = yield* fakePeer(4200)
      yield* send(yield* client.dial(node.address), { type: "TRANSACTION", data: tx, traceparent })
      // No traceparent key at all: what a plain spec node would forward.
      expect(yield* inbound.nextSpecMessage).toStrictEqual({ type: "TRANSACTION", data: tx })
      yield* waitForPoolSize(node.pool, 1)
    }).pipe(Effect.provide(TransportMemory.layerNetwork)),
  )
})
