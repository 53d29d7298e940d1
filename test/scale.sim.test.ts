import { describe, expect, it } from "@effect/vitest"
import { Effect, Logger, LogLevel, Option, Scope } from "effect"
import type { Address } from "../src/domain/Address.js"
import { encodeFrame } from "../src/domain/Message.js"
import { makeTransaction } from "../src/domain/Transaction.js"
import * as TransportMemory from "../src/layers/TransportMemory.js"
import type { LinkSnapshot } from "../src/protocol/links.js"
import type { MeshSettings } from "../src/services/NodeConfig.js"
import {
  distancesFrom,
  graphOf,
  makeTransactionLog,
  type SimNode,
  startSimNode,
  summary,
  type TransactionLog,
} from "./support/simNetwork.js"
import { makeVirtualTime, type VirtualTime } from "./support/virtualTime.js"

/**
 * Whole networks of real startNode instances on the in-memory transport, in virtual time (see
 * support/virtualTime.ts for why not TestClock at this size). Each test prints one JSON line with
 * what docs/scaling.md reports: degrees, seconds until connected, hops and frames per transaction.
 */

const BASE_PORT = 20_000

const quiet = Logger.withMinimumLogLevel(LogLevel.None)

/**
 * The simulated nodes live in a scope of their own that the test never closes: stopping them one by
 * one (each stop makes every peer react) would cost as much as the whole simulation, and they hold
 * nothing real (no sockets, no timers: their clock is virtual), so they are dropped with the test.
 */
const simulationScope = Scope.make()

const startNetwork = (time: VirtualTime, size: number, known: ReadonlyArray<number>, mesh: Partial<MeshSettings>) =>
  Effect.gen(function* () {
    const log = makeTransactionLog()
    const scope = yield* simulationScope
    const nodes: Array<SimNode> = []
    for (let i = 0; i < size; i++) {
      nodes.push(
        yield* time
          .run(startSimNode({ port: BASE_PORT + i, knownPeers: known.map((k) => BASE_PORT + k), log, mesh }))
          .pipe(Scope.extend(scope)),
      )
    }
    return { nodes, log }
  })

const snapshotsOf = (nodes: ReadonlyArray<SimNode>) =>
  Effect.map(
    Effect.forEach(nodes, (node) => node.links.snapshot),
    (snapshots) =>
      new Map<Address, LinkSnapshot>(
        nodes.map((node, i) => [node.address, snapshots[i] ?? { links: [], relayTo: [] }]),
      ),
  )

/** Lets virtual time pass a second at a time until every node can reach every other over links. */
const untilConnected = (time: VirtualTime, nodes: ReadonlyArray<SimNode>, limitSeconds: number) =>
  Effect.gen(function* () {
    const [first] = nodes
    for (let second = 0; first !== undefined && second <= limitSeconds; second++) {
      yield* time.advance("1 second")
      if (distancesFrom(graphOf(yield* snapshotsOf(nodes)), first.address).size === nodes.length) return second + 1
    }
    return yield* Effect.dieMessage(`the network was not connected after ${limitSeconds} s`)
  })

/** Sends one new transaction to `node` as a client does: its own connection, one frame, closed. */
const submit = (time: VirtualTime, node: SimNode, n: number) =>
  time.run(
    Effect.gen(function* () {
      const tx = makeTransaction({ fromAddress: null, toAddress: "04abcdef", amount: 1 + (n % 100), timeStamp: n })
      const client = yield* TransportMemory.make("client")
      yield* Effect.scoped(
        Effect.flatMap(client.dial(node.address), (connection) =>
          connection.send(encodeFrame({ type: "TRANSACTION", data: tx })),
        ),
      )
      return tx
    }),
  )

/**
 * Submits `count` transactions one after another at nodes spread over the network; each must reach
 * every node. Reports, per transaction, the TRANSACTION frames sent network-wide, the hops its first
 * copies took to the farthest node, and the shortest-path distance of that node (the best possible).
 */
const gossip = (time: VirtualTime, nodes: ReadonlyArray<SimNode>, log: TransactionLog, count: number) =>
  Effect.gen(function* () {
    const graph = graphOf(yield* snapshotsOf(nodes))
    const results: Array<{ frames: number; hops: number; shortest: number }> = []
    for (let n = 0; n < count; n++) {
      const origin = nodes[(n * 397) % nodes.length]
      if (origin === undefined) continue
      const tx = yield* submit(time, origin, n)
      yield* time.advance("100 millis")
      const holders = yield* Effect.forEach(nodes, (node) => node.pool.has(tx.hash))
      expect(holders.filter((has) => !has)).toHaveLength(0)
      const hops = log.hops(tx.hash, origin.address)
      expect(hops.size).toBe(nodes.length)
      results.push({
        frames: log.frames(tx.hash),
        hops: Math.max(...hops.values()),
        shortest: Math.max(...distancesFrom(graph, origin.address).values()),
      })
    }
    return results
  })

describe("scale simulation on the in-memory transport, in virtual time", () => {
  it.scoped(
    "1,000 nodes with MAX_PEERS=8 from three known peers: connected, at most 8 links each, every transaction reaches all",
    () =>
      Effect.gen(function* () {
        const wall = Date.now()
        const time = makeVirtualTime()
        const { nodes, log } = yield* startNetwork(time, 1000, [0, 1, 2], { maxPeers: Option.some(8) })
        const startedMillis = Date.now() - wall
        const connectedAfter = yield* untilConnected(time, nodes, 60)
        // Let announcements and catch-up settle before measuring.
        yield* time.advance("5 seconds")
        const snapshots = yield* snapshotsOf(nodes)
        const degrees = [...snapshots.values()].map((snapshot) => snapshot.relayTo.length)
        const connections = [...snapshots.values()].map((snapshot) => snapshot.links.length)
        expect(Math.max(...connections)).toBeLessThanOrEqual(8)
        expect(Math.min(...degrees)).toBeGreaterThanOrEqual(1)
        const rounds = yield* gossip(time, nodes, log, 5)
        const edges = degrees.reduce((sum, degree) => sum + degree, 0) / 2
        console.log(
          JSON.stringify({
            simulation: "1000 nodes, MAX_PEERS=8, pruned",
            connectedAfterVirtualSeconds: connectedAfter,
            degree: summary(degrees),
            links: summary(connections),
            framesPerTransaction: rounds.map((round) => round.frames),
            floodOnTheSameGraphWouldSend: 2 * edges,
            hopsToTheLastNode: rounds.map((round) => round.hops),
            shortestPathToThatNode: rounds.map((round) => round.shortest),
            framesByTypeSoFar: log.totals(),
            wallMillis: { start: startedMillis, total: Date.now() - wall },
          }),
        )
        for (const round of rounds) {
          // Every node relays only to peers its sender does not reach: fewer frames than links.
          expect(round.frames).toBeLessThan(2 * edges)
          expect(round.hops).toBeLessThanOrEqual(2 * round.shortest)
        }
      }).pipe(Effect.provide(TransportMemory.layerNetwork), quiet),
    240_000,
  )

  it.scoped(
    "100 nodes in a full mesh (no MAX_PEERS): 99 links each, a transaction costs 99 frames instead of 9,900",
    () =>
      Effect.gen(function* () {
        const wall = Date.now()
        const time = makeVirtualTime()
        // The spec's known peers: node 1 and node 3.
        const { nodes, log } = yield* startNetwork(time, 100, [0, 2], {})
        const connectedAfter = yield* untilConnected(time, nodes, 60)
        yield* time.advance("2 seconds")
        const snapshots = yield* snapshotsOf(nodes)
        const degrees = [...snapshots.values()].map((snapshot) => snapshot.relayTo.length)
        expect(Math.min(...degrees)).toBe(99)
        const rounds = yield* gossip(time, nodes, log, 5)
        console.log(
          JSON.stringify({
            simulation: "100 nodes, full mesh, pruned",
            connectedAfterVirtualSeconds: connectedAfter,
            degree: summary(degrees),
            framesPerTransaction: rounds.map((round) => round.frames),
            floodWouldSend: 100 * 99,
            hopsToTheLastNode: rounds.map((round) => round.hops),
            wallMillis: Date.now() - wall,
          }),
        )
        for (const round of rounds) {
          expect(round.frames).toBe(99)
          expect(round.hops).toBe(1)
        }
      }).pipe(Effect.provide(TransportMemory.layerNetwork), quiet),
    240_000,
  )
})
