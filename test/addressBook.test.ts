import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Queue, TestClock } from "effect"
import { type Address, localAddress } from "../src/domain/Address.js"
import * as TransportMemory from "../src/layers/TransportMemory.js"
import type { LimitsShape } from "../src/services/Limits.js"
import { startGuardedNode } from "./support/guardedNode.js"
import { type CapturedLog, withLogs } from "./support/logs.js"
import { fakePeer, send } from "./support/memoryNode.js"

const ports = (from: number, count: number) => Array.from({ length: count }, (_, i) => localAddress(from + i))

/** A node on a network where every dial hangs (as to a host that never answers), with `started` told of each. */
const startNodeCountingDials = (limits: Partial<LimitsShape>) =>
  Effect.gen(function* () {
    const started = yield* Queue.unbounded<Address>()
    const node = yield* startGuardedNode(4001, {
      limits,
      healing: { redialLearnedAttempts: 1 },
      dial: () => (address) => Effect.zipRight(Queue.offer(started, address), Effect.never),
    })
    const socket = yield* (yield* fakePeer(4200)).dial(node.address)
    return { node, started, socket }
  })

describe("learned addresses are kept, not obeyed", () => {
  it.scoped("a HANDSHAKE's addresses are dialled at the node's pace, not at once", () =>
    Effect.gen(function* () {
      const { started, socket } = yield* startNodeCountingDials({
        dialsPerSecond: 3,
        dialBurst: 0,
        dialConcurrency: 100,
      })
      yield* send(socket, { type: "HANDSHAKE", data: ports(5000, 9) })
      // Three at once (a second's worth), then one every third of a second, oldest first.
      const first = yield* Queue.takeN(started, 3)
      expect(Chunk.toArray(first)).toEqual(ports(5000, 3))
      yield* TestClock.adjust(300)
      expect(yield* Queue.size(started)).toBe(0)
      yield* TestClock.adjust(34)
      expect(Chunk.toArray(yield* Queue.takeN(started, 1))).toEqual([localAddress(5003)])
      yield* TestClock.adjust(1_667)
      expect(Chunk.toArray(yield* Queue.takeN(started, 5))).toEqual(ports(5004, 5))
    }).pipe(Effect.provide(TransportMemory.layerNetwork)),
  )

  it.scoped("addresses waiting for the dial loop are queued in the peer table, once however often listed", () =>
    Effect.gen(function* () {
      const { node, started, socket } = yield* startNodeCountingDials({
        dialsPerSecond: 3,
        dialBurst: 0,
        dialConcurrency: 100,
      })
      const queued = Effect.map(node.peers.entries, (entries) =>
        entries.filter((entry) => entry.queued === true).map((entry) => entry.address),
      )
      yield* send(socket, { type: "HANDSHAKE", data: ports(5000, 6) })
      expect(Chunk.toArray(yield* Queue.takeN(started, 3))).toEqual(ports(5000, 3))
      // Listed again while they wait: still waiting once, and /peers says so.
      yield* send(socket, { type: "HANDSHAKE", data: ports(5000, 6) })
      expect(yield* queued).toEqual(ports(5003, 3))
      yield* TestClock.adjust(1_000)
      expect(Chunk.toArray(yield* Queue.takeN(started, 3))).toEqual(ports(5003, 3))
      yield* TestClock.adjust(5_000)
      expect(yield* Queue.size(started)).toBe(0)
      expect(yield* queued).toEqual([])
    }).pipe(Effect.provide(TransportMemory.layerNetwork)),
  )

  it.scoped("one source adds only its share a minute; the rest is dropped in one line", () =>
    withLogs((logs) =>
      Effect.gen(function* () {
        const { started, socket } = yield* startNodeCountingDials({ learnedPerMinute: 4, dialConcurrency: 100 })
        yield* send(socket, { type: "HANDSHAKE", data: ports(5000, 10) })
        expect(Chunk.toArray(yield* Queue.takeN(started, 4))).toEqual(ports(5000, 4))
        const dropped = (line: CapturedLog) => line.message === "learned addresses dropped"
        const [line] = yield* logs.waitForCount(dropped, 1)
        expect(line?.annotations).toMatchObject({ overBudget: 6, bookFull: 0 })
        expect(String(line?.annotations.limit)).toContain("4 addresses a minute from one source")
        // Listing them again in the same minute changes nothing; a minute later the share is back.
        yield* send(socket, { type: "HANDSHAKE", data: ports(5004, 6) })
        yield* TestClock.adjust(60_000)
        yield* send(socket, { type: "HANDSHAKE", data: ports(5004, 6) })
        expect(Chunk.toArray(yield* Queue.takeN(started, 4))).toEqual(ports(5004, 4))
        expect(yield* Queue.size(started)).toBe(0)
      }),
    ).pipe(Effect.provide(TransportMemory.layerNetwork)),
  )

  it.scoped("the book holds a bounded number of addresses waiting for their dial", () =>
    withLogs((logs) =>
      Effect.gen(function* () {
        const { started, socket } = yield* startNodeCountingDials({
          addressBookSize: 4,
          dialsPerSecond: 1,
          dialBurst: 0,
          dialConcurrency: 100,
        })
        yield* send(socket, { type: "HANDSHAKE", data: ports(5000, 10) })
        const [line] = yield* logs.waitForCount((entry) => entry.message === "learned addresses dropped", 1)
        // Four wait (one more if the dial loop was already waiting for one); the others did not fit.
        const dropped = Number(line?.annotations.bookFull)
        expect(dropped).toBeGreaterThanOrEqual(5)
        expect(dropped).toBeLessThanOrEqual(6)
        yield* TestClock.adjust(10_000)
        expect(Chunk.toArray(yield* Queue.takeN(started, 10 - dropped))).toEqual(ports(5000, 10 - dropped))
        expect(yield* Queue.size(started)).toBe(0)
      }),
    ).pipe(Effect.provide(TransportMemory.layerNetwork)),
  )
})
