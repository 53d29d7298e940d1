import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Schedule, SubscriptionRef, TestClock } from "effect"
import { type Address, localAddress } from "../src/domain/Address.js"
import { encodeFrame } from "../src/domain/Message.js"
import { makeTransaction, type Transaction } from "../src/domain/Transaction.js"
import * as TransportMemory from "../src/layers/TransportMemory.js"
import * as TransportWs from "../src/layers/TransportWs.js"
import { freePort } from "./support/freePort.js"
import { startMemoryNode } from "./support/memoryNode.js"
import { makeTransactionLog, startObservedNode } from "./support/simNetwork.js"
import { readSpecFrame, startStrictSpecPeer } from "./support/strictSpecPeer.js"
import { startStrictSpecPeerWs } from "./support/strictSpecPeerWs.js"

/**
 * A node sends a peer not known to be ours only HANDSHAKE and TRANSACTION (docs/peer-states.md). The
 * peers here are strict spec nodes, which exit on any other frame (test/support/strictSpecPeer.ts),
 * as many published spec implementations do. In every start order they must stay up and the mesh
 * must form, while our own nodes still sync and announce to each other.
 */

type MemoryNode = Effect.Effect.Success<ReturnType<typeof startMemoryNode>>
type StrictPeer = Effect.Effect.Success<ReturnType<typeof startStrictSpecPeer>>

const ports = [4001, 4002, 4003]
const everyone = ports.map(localAddress)

const orders = (items: ReadonlyArray<string>): Array<Array<string>> =>
  items.length <= 1
    ? [[...items]]
    : items.flatMap((item, i) => orders(items.filter((_, j) => j !== i)).map((rest) => [item, ...rest]))

const connectedTo = (connected: ReadonlyArray<Address>, self: Address, all: ReadonlyArray<Address> = everyone) =>
  all.every((address) => address === self || connected.includes(address))

const meshFormed = (ours: ReadonlyArray<MemoryNode>, spec: StrictPeer) =>
  Effect.gen(function* () {
    for (const node of ours) if (!connectedTo((yield* node.peers.snapshot).connected, node.address)) return false
    return connectedTo(yield* SubscriptionRef.get(spec.connected), spec.address)
  })

/** Moves the test clock on in small steps (redials wait on it) until `done`, for at most a minute. */
const untilDone = (done: Effect.Effect<boolean>) =>
  Effect.gen(function* () {
    for (let step = 0; step < 600 && !(yield* done); step++) yield* TestClock.adjust("100 millis")
    return yield* done
  })

/** Starts our two nodes and a strict spec node on 4002 in `order`; every node knows every port. */
const startInOrder = (order: ReadonlyArray<string>, takesTransactions = false) =>
  Effect.gen(function* () {
    const ours: Array<MemoryNode> = []
    let spec: StrictPeer | undefined
    for (const name of order) {
      if (name === "spec") spec = yield* startStrictSpecPeer(4002, ports, { takesTransactions })
      else ours.push(yield* startMemoryNode(name === "ours-4001" ? 4001 : 4003, ports))
    }
    if (spec === undefined) return yield* Effect.die("no spec node in the order")
    return { ours, spec }
  })

const submitTo = (address: Address, transaction: Transaction) =>
  Effect.gen(function* () {
    const client = yield* TransportMemory.make("client", { spec: true })
    yield* Effect.scoped(
      Effect.flatMap(client.dial(address), (connection) =>
        connection.send(encodeFrame({ type: "TRANSACTION", data: transaction })),
      ),
    )
  })

const tx = (n: number) => makeTransaction({ fromAddress: null, toAddress: "04abcdef", amount: n, timeStamp: n })

describe("a strict spec node among ours (in memory)", () => {
  for (const order of orders(["ours-4001", "spec", "ours-4003"])) {
    it.scoped(`stays up and the mesh forms: ${order.join(", ")}`, () =>
      Effect.gen(function* () {
        const { ours, spec } = yield* startInOrder(order)
        expect(yield* untilDone(meshFormed(ours, spec))).toBe(true)
        // A minute of the nodes' time: announcements, periodic syncs and heartbeats all go out.
        yield* TestClock.adjust("1 minute")
        expect(yield* Deferred.isDone(spec.crashed)).toBe(false)
        expect(yield* meshFormed(ours, spec)).toBe(true)
      }).pipe(Effect.provide(TransportMemory.layerNetwork)),
    )
  }

  it.scoped("one that also takes TRANSACTION relays both ways", () =>
    Effect.gen(function* () {
      const { ours, spec } = yield* startInOrder(["ours-4001", "spec", "ours-4003"], true)
      expect(yield* untilDone(meshFormed(ours, spec))).toBe(true)
      const [first] = ours
      if (first === undefined) return
      // One from a client of ours, one from a client of the spec node's.
      yield* submitTo(first.address, tx(1))
      yield* submitTo(spec.address, tx(2))
      const allHold = Effect.gen(function* () {
        for (const node of ours) if ((yield* node.pool.list).length < 2) return false
        return (yield* spec.transactions).length === 2
      })
      expect(yield* untilDone(allHold)).toBe(true)
      expect(yield* Deferred.isDone(spec.crashed)).toBe(false)
    }).pipe(Effect.provide(TransportMemory.layerNetwork)),
  )
})

describe("a strict spec node among ours (real sockets)", () => {
  it.scopedLive("stays up while our nodes sync and announce to each other, and the mesh forms", () =>
    Effect.gen(function* () {
      const [a = 0, s = 0, b = 0] = yield* Effect.forEach([1, 2, 3], () => Effect.promise(freePort))
      const known = [a, s, b].map(localAddress)
      const log = makeTransactionLog()
      // Periodic syncs every 100 ms: many chances for a SYNC_SUMMARY to reach the spec node by mistake.
      const start = (port: number) =>
        startObservedNode(
          { port, knownPeers: known, log, healing: { syncIntervalMillis: 100, redialBaseMillis: 20 } },
          TransportWs.make(TransportWs.defaultOptions),
        )
      const first = yield* start(a)
      const spec = yield* Effect.acquireRelease(
        Effect.sync(() => startStrictSpecPeerWs(s, known)),
        (peer) => Effect.promise(peer.stop),
      )
      yield* Effect.promise(() => spec.listening)
      const second = yield* start(b)
      let crashed: string | undefined
      void spec.crashed.then((frame) => {
        crashed = frame
      })
      yield* Effect.promise(() => spec.whenConnected([first.address, second.address])).pipe(
        Effect.timeout("10 seconds"),
      )
      const settled = Effect.gen(function* () {
        for (const node of [first, second]) {
          if (!connectedTo((yield* node.peers.snapshot).connected, node.address, known)) return false
        }
        // Our two nodes have compared pools several times (each SYNC_SUMMARY frame between them is counted).
        const totals: Readonly<Record<string, number>> = log.totals()
        return (totals.SYNC_SUMMARY ?? 0) >= 6
      })
      yield* settled.pipe(
        Effect.repeat({ until: (done) => done || crashed !== undefined, schedule: Schedule.spaced("20 millis") }),
        Effect.timeout("10 seconds"),
      )
      expect(crashed).toBeUndefined()
      expect(yield* settled).toBe(true)
    }),
  )
})

describe("frames for spec peers", () => {
  it("the strict spec node's reading: only address lists, and TRANSACTION if it takes them", () => {
    expect(readSpecFrame('{"type":"HANDSHAKE","data":["ws://a:1"]}', false)._tag).toBe("Handshake")
    expect(readSpecFrame('{"type":"SYNC_SUMMARY","data":{"count":0,"digest":""}}', true)._tag).toBe("Crash")
    expect(readSpecFrame('{"type":"PEERS","data":{"address":"ws://a:1","peers":[]}}', false)._tag).toBe("Crash")
    expect(readSpecFrame(encodeFrame({ type: "TRANSACTION", data: tx(4) }), false)._tag).toBe("Crash")
    expect(readSpecFrame('{"type":"HANDSHAKE","data":[],"extra":1}', false)._tag).toBe("Crash")
  })
})
