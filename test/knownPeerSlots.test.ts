import { describe, expect, it } from "@effect/vitest"
import { Effect, TestClock } from "effect"
import * as TransportMemory from "../src/layers/TransportMemory.js"
import { startGuardedNode } from "./support/guardedNode.js"
import { withLogs } from "./support/logs.js"
import { fakePeer, send, waitForPeers } from "./support/memoryNode.js"

describe("connection slots kept for known peers", () => {
  it.scoped("addresses others list, however many answer, never take the last slot from a known peer", () =>
    withLogs((logs) =>
      Effect.gen(function* () {
        // One known peer, down when the node starts: its redial loop waits.
        const node = yield* startGuardedNode(4001, {
          knownPeers: [4105],
          limits: { maxConnections: 4, reservedOutbound: 2 },
        })
        yield* waitForPeers(node.peers, (s) => s.dialling.length === 0)
        // A stranger lists three addresses that answer: with its own connection, two of them fill every
        // slot but the known peer's, and the third is refused.
        const stranger = yield* (yield* fakePeer(4200)).dial(node.address)
        const learned = [yield* fakePeer(4106), yield* fakePeer(4107), yield* fakePeer(4108)]
        yield* send(stranger, { type: "HANDSHAKE", data: learned.map((peer) => peer.address) })
        const [refusal] = yield* logs.waitForCount(
          (line) => line.message === "connection refused: too many connections",
          1,
        )
        expect(refusal?.annotations).toMatchObject({
          direction: "outbound",
          limit: "3 connections (1 kept for known peers)",
        })
        // The known peer comes up: the node's next redial takes the slot kept for it.
        const known = yield* fakePeer(4105)
        yield* TestClock.adjust("10 seconds")
        yield* known.nextInbound
        yield* waitForPeers(node.peers, (s) => s.connected.includes(known.address))
      }),
    ).pipe(Effect.provide(TransportMemory.layerNetwork)),
  )
})
