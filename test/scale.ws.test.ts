import { describe, expect, it } from "@effect/vitest"
import { Effect, Logger, LogLevel, Schedule, Stream } from "effect"
import { encodeFrame } from "../src/domain/Message.js"
import { makeTransaction } from "../src/domain/Transaction.js"
import * as TransportWs from "../src/layers/TransportWs.js"
import type { GossipMode } from "../src/services/NodeConfig.js"
import { freePort } from "./support/freePort.js"
import { makeTransactionLog, type SimNode, startObservedNode, summary } from "./support/simNetwork.js"

/**
 * Frames per transaction in a full mesh of 10 real nodes (startNode on the WebSocket transport, in
 * this process, on free ports), with GOSSIP_MODE=flood (the spec's relay, what every node did before)
 * and pruned (the default). Every TRANSACTION frame between nodes is counted on the wire.
 */
const SIZE = 10
const TRANSACTIONS = 5

const measure = (gossip: GossipMode) =>
  Effect.gen(function* () {
    const log = makeTransactionLog()
    const ports = yield* Effect.forEach(Array.from({ length: SIZE }), () => Effect.promise(freePort))
    const [first = 0, , third = 0] = ports
    const nodes: Array<SimNode> = []
    for (const port of ports) {
      nodes.push(
        yield* startObservedNode(
          { port, knownPeers: [first, third], log, mesh: { gossip } },
          TransportWs.make(TransportWs.defaultOptions),
        ),
      )
    }
    const wall = Date.now()
    // A full mesh, and every node has heard from every other whom it relays to.
    const settled = Effect.gen(function* () {
      for (const node of nodes) {
        const { relayTo } = yield* node.links.snapshot
        if (relayTo.length < SIZE - 1) return false
        const sizes = yield* Effect.forEach(relayTo, node.links.viewSize)
        if (sizes.some((size) => size !== SIZE - 1)) return false
      }
      return true
    })
    yield* settled.pipe(
      Effect.repeat({ until: (done) => done, schedule: Schedule.spaced("20 millis") }),
      Effect.timeout("30 seconds"),
    )
    const meshMillis = Date.now() - wall
    const rounds: Array<{ frames: number; hops: number }> = []
    for (let n = 0; n < TRANSACTIONS; n++) {
      const origin = nodes[(n * 3) % SIZE]
      if (origin === undefined) continue
      const tx = makeTransaction({ fromAddress: null, toAddress: "04ab", amount: 1 + n, timeStamp: Date.now() + n })
      const client = yield* TransportWs.make(TransportWs.defaultOptions)
      yield* Effect.scoped(
        Effect.flatMap(client.dial(origin.address), (connection) =>
          connection.send(encodeFrame({ type: "TRANSACTION", data: tx })),
        ),
      )
      yield* Effect.forEach(nodes, (node) =>
        node.pool.sizeChanges.pipe(
          Stream.filter((size) => size > n),
          Stream.runHead,
          Effect.timeout("15 seconds"),
        ),
      )
      // Every copy in flight has landed once every node holds it and the duplicates are counted:
      // in pruned mode nothing is in flight then; in flood mode wait for all N·(N-1).
      if (gossip === "flood") {
        yield* Effect.sync(() => log.frames(tx.hash)).pipe(
          Effect.repeat({ until: (frames) => frames >= SIZE * (SIZE - 1), schedule: Schedule.spaced("10 millis") }),
          Effect.timeout("15 seconds"),
        )
      }
      const hops = log.hops(tx.hash, origin.address)
      expect(hops.size).toBe(SIZE)
      rounds.push({ frames: log.frames(tx.hash), hops: Math.max(...hops.values()) })
    }
    return { gossip, meshMillis, rounds, totals: log.totals() }
  }).pipe(Effect.scoped)

describe("frames per transaction in a full mesh of 10 nodes on real WebSockets", () => {
  it.live(
    "flood sends N·(N-1) = 90 frames per transaction; pruned sends N-1 = 9, at most 2·(N-1)",
    () =>
      Effect.gen(function* () {
        const flood = yield* measure("flood")
        const pruned = yield* measure("pruned")
        for (const result of [flood, pruned]) {
          console.log(
            JSON.stringify({
              network: `${SIZE} nodes on ws, full mesh, GOSSIP_MODE=${result.gossip}`,
              framesPerTransaction: result.rounds.map((round) => round.frames),
              mean: summary(result.rounds.map((round) => round.frames)).mean,
              hops: result.rounds.map((round) => round.hops),
              meshAndViewsMillis: result.meshMillis,
              framesByType: result.totals,
            }),
          )
        }
        for (const round of flood.rounds) expect(round.frames).toBe(SIZE * (SIZE - 1))
        for (const round of pruned.rounds) {
          expect(round.frames).toBeLessThanOrEqual(2 * (SIZE - 1))
          expect(round.hops).toBe(1)
        }
      }).pipe(Logger.withMinimumLogLevel(LogLevel.Warning)),
    120_000,
  )
})
