import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Queue, Schema, TestClock } from "effect"
import { describePeer } from "../src/cli/peersView.js"
import { localAddress } from "../src/domain/Address.js"
import { PeersReport, peerInfoOf } from "../src/domain/PeerInfo.js"
import * as PeerTable from "../src/domain/PeerTable.js"
import * as PeerLinks from "../src/domain/peerLinks.js"
import { listedEntries } from "../src/http/peers.js"
import * as LimitsConfig from "../src/layers/LimitsConfig.js"
import * as PeerStoreRef from "../src/layers/PeerStoreRef.js"
import * as TransportMemory from "../src/layers/TransportMemory.js"
import { startObservedNode } from "./support/observedNode.js"

const a = localAddress(4001)
const outbound = { direction: "outbound", kind: "spec", serial: 1 } as const

describe("the peer table's transitions", () => {
  it("claim → connect → close → back off → given up, each with its reason", () => {
    const dialling = PeerTable.claim(undefined, a, 10)
    expect(dialling).toMatchObject({ state: { _tag: "Dialling", since: 10 }, reason: "dial started" })
    // Dialling or connected: a second claim is refused.
    expect(PeerTable.claim(dialling, a, 11)).toBeUndefined()
    const connected = PeerTable.connect(dialling, a, outbound, 20)
    expect(connected.state).toEqual({ _tag: "Connected", direction: "outbound", kind: "spec", since: 20, serial: 1 })
    expect(PeerTable.claim(connected, a, 21)).toBeUndefined()
    // The dial's own release does not undo the connection, nor does an older connection's.
    expect(PeerTable.release(connected, "dial ended", 22)).toBe(connected)
    expect(PeerTable.release(connected, "connection closed", 22, 0)).toBe(connected)
    const closed = PeerTable.release(connected, "connection closed", 30, 1)
    expect(closed).toMatchObject({ state: { _tag: "Known" }, reason: "connection closed", changedAt: 30 })
    const failed = PeerTable.failed(closed, a, "connect ECONNREFUSED", 40)
    expect(failed.lastFailure).toEqual({ at: 40, message: "connect ECONNREFUSED" })
    const waiting = PeerTable.backOff(failed, a, { until: 440, failures: 1, reason: "dial failed" }, 40)
    expect(waiting).toMatchObject({ state: { _tag: "BackingOff", until: 440, failures: 1 }, reason: "dial failed" })
    expect(waiting.lastFailure?.message).toBe("connect ECONNREFUSED")
    const givenUp = PeerTable.giveUp(waiting, a, { failures: 8, retryFrom: 60_500 }, 500)
    expect(givenUp).toMatchObject({
      state: { _tag: "GivenUp", failures: 8, retryFrom: 60_500 },
      reason: "gave up after 8 failures",
    })
    // Left alone for its rest, whoever lists it; then anyone listing it again may dial it afresh.
    expect(PeerTable.isResting(givenUp, 60_499)).toBe(true)
    expect(PeerTable.isResting(givenUp, 60_500)).toBe(false)
    expect(PeerTable.isResting(waiting, 500)).toBe(false)
    expect(PeerTable.claim(givenUp, a, 600)?.state._tag).toBe("Dialling")
  })

  it("an address that led back to this node is our own: never claimed again, and no redial changes that", () => {
    const own = PeerTable.leadsBack(PeerTable.claim(undefined, a, 1), a, 2)
    expect(own).toMatchObject({ state: { _tag: "Own" }, reason: "leads back to this node" })
    expect(PeerTable.isOwn(own)).toBe(true)
    expect(PeerTable.claim(own, a, 3)).toBeUndefined()
    expect(PeerTable.release(own, "dial ended", 3)).toBe(own)
    expect(PeerTable.backOff(own, a, { until: 500, failures: 1, reason: "dial failed" }, 3)).toBe(own)
    expect(PeerTable.giveUp(own, a, { failures: 8, retryFrom: 3 }, 3)).toBe(own)
    expect(peerInfoOf(own).state).toBe("own")
  })

  it("an adopted inbound connection connects a peer that was backing off; a wait never overrides a connection", () => {
    const waiting = PeerTable.backOff(undefined, a, { until: 1_000, failures: 2, reason: "dial failed" }, 0)
    const adopted = PeerTable.connect(waiting, a, { direction: "inbound", kind: "ours", serial: 3 }, 5)
    expect(adopted).toMatchObject({
      state: { _tag: "Connected", direction: "inbound" },
      reason: "inbound connection adopted",
    })
    expect(PeerTable.backOff(adopted, a, { until: 2_000, failures: 3, reason: "peer stopped answering" }, 6)).toBe(
      adopted,
    )
    expect(PeerTable.giveUp(adopted, a, { failures: 3, retryFrom: 60_006 }, 6)).toBe(adopted)
  })

  it("connected addresses in the order they connected; /peers and status describe each entry", () => {
    const b = localAddress(4002)
    const [first, second] = [
      PeerTable.connect(undefined, b, { ...outbound, serial: 2 }, 1_000),
      PeerTable.connect(undefined, a, { ...outbound, serial: 1 }, 1_000),
    ]
    expect(PeerTable.connectedOf([first, second])).toEqual([a, b])
    const timedOut = PeerTable.failed(undefined, a, "timed out", 1_000)
    const info = peerInfoOf(PeerTable.backOff(timedOut, a, { until: 3_500, failures: 2, reason: "dial failed" }, 1_000))
    expect(info).toMatchObject({
      state: "backing off",
      failures: 2,
      nextRetry: 3_500,
      lastFailure: { message: "timed out" },
    })
    expect(describePeer(info, 2_000)).toBe(`${a}  backing off  2 failed  retry in 1.5s  last failure 1s ago: timed out`)
    expect(describePeer(peerInfoOf(first), 4_000)).toBe(`${b}  connected  spec  outbound  since 3s ago`)
    const givenUp = peerInfoOf(PeerTable.giveUp(timedOut, a, { failures: 8, retryFrom: 61_000 }, 1_000))
    expect(describePeer(givenUp, 31_000)).toBe(
      `${a}  given up  8 failed  retry if listed in 30s  last failure 30s ago: timed out`,
    )
    // Given up as unreachable: dialled again as soon as it is listed, so no time is shown.
    const unreachable = peerInfoOf(PeerTable.giveUp(timedOut, a, { failures: 8, retryFrom: 1_000 }, 1_000))
    expect(describePeer(unreachable, 31_000)).toBe(`${a}  given up  8 failed  last failure 30s ago: timed out`)
  })
})

describe("an entry's links", () => {
  const link = (direction: PeerTable.PeerDirection, kind: PeerTable.PeerKind, serial: number): PeerTable.PeerLink => ({
    address: a,
    direction,
    kind,
    send: () => Effect.void,
    close: Effect.void,
    serial,
  })

  it("links come and go apart from the dial state; the outbound one carries the relay", () => {
    const inbound = link("inbound", "ours", 1)
    const outboundLink = link("outbound", "spec", 2)
    const dialling = PeerTable.claim(undefined, a, 10)
    const named = PeerLinks.addLink(dialling, inbound, 11)
    expect(named.state).toBe(dialling?.state)
    expect(PeerLinks.linkChangeOf(dialling, named)).toBe("gained")
    expect(PeerLinks.relayLinkOf(named)).toBe(inbound)
    const both = PeerTable.connect(PeerLinks.addLink(named, outboundLink, 12), a, { ...outbound, serial: 2 }, 12)
    expect(PeerLinks.linkChangeOf(named, both)).toBe("same")
    expect(PeerLinks.relayLinkOf(both)).toBe(outboundLink)
    expect(PeerLinks.hasOutboundLink(both)).toBe(true)
    // A spec peer dialled by us is ours once it sends PEERS (only our nodes do).
    expect(PeerLinks.relayTargetOf(both)).toMatchObject({ address: a, ours: false, announced: false })
    expect(PeerLinks.isOurs(both)).toBe(false)
    const announced = PeerLinks.markOurs(both, 7)
    expect(PeerLinks.isOurs(announced)).toBe(true)
    expect(PeerLinks.relayTargetOf(announced ?? both)).toMatchObject({ ours: true, announced: true, leaving: false })
    const leaving = PeerLinks.leave(announced)
    expect(leaving?.leaving).toBe(true)
    const one = PeerLinks.removeLink(leaving, outboundLink)
    expect(one).toMatchObject({ relaysTo: 7, leaving: true, state: { _tag: "Connected" } })
    // With the last link gone, what the peer told us over its links goes too.
    const none = PeerLinks.removeLink(one, inbound)
    expect(none?.links).toEqual([])
    expect(none?.relaysTo).toBeUndefined()
    expect(none?.leaving).toBeUndefined()
    expect(PeerLinks.linkChangeOf(one, none)).toBe("lost")
    expect(PeerLinks.relayTargetOf(none ?? both)).toBeUndefined()
    // An address with no link cannot be marked: PEERS only comes on a link.
    expect(PeerLinks.markOurs(none, 3)).toBe(none)
  })
})

describe("link events", () => {
  it.scoped("say whether the peer was a node of ours: a spec peer's lost link needs no catch-up", () =>
    Effect.gen(function* () {
      const peers = yield* PeerStoreRef.make
      const events = yield* peers.linkEvents
      const peer = (port: number, kind: "ours" | "spec") => ({
        address: localAddress(port),
        direction: "outbound" as const,
        kind,
        send: () => Effect.void,
        close: Effect.void,
      })
      for (const [port, kind] of [
        [4101, "spec"],
        [4102, "ours"],
      ] as const) {
        yield* Effect.scoped(peers.link(peer(port, kind)))
      }
      expect(yield* Queue.takeAll(events)).toEqual(
        Chunk.fromIterable([
          { address: localAddress(4101), change: "gained", ours: false },
          { address: localAddress(4101), change: "lost", ours: false },
          { address: localAddress(4102), change: "gained", ours: true },
          { address: localAddress(4102), change: "lost", ours: true },
        ]),
      )
    }),
  )
})

describe("a bounded table", () => {
  it.scoped("past MAX_REMEMBERED_ADDRESSES the oldest address with nothing under way is forgotten", () =>
    Effect.gen(function* () {
      const peers = yield* PeerStoreRef.make
      const connected = localAddress(4000)
      yield* peers.register({
        address: connected,
        direction: "outbound",
        kind: "spec",
        send: () => Effect.void,
        close: Effect.void,
      })
      // An alias of ours, found by a dial: forgettable too (a forgotten one is found again by its next dial).
      yield* peers.leadsBack(localAddress(4999))
      const listed = Array.from({ length: 10 }, (_, i) => localAddress(5000 + i))
      yield* peers.queue(listed)
      // Waiting for the dial loop: all kept, whatever the bound.
      expect((yield* peers.entries).length).toBe(12)
      // Taken out of the book (so only heard of): the three most recent are kept.
      yield* Effect.forEach(listed, peers.unqueue, { discard: true })
      const addresses = (yield* peers.entries).map((entry) => entry.address)
      expect(addresses).toEqual([connected, ...listed.slice(7)])
    }).pipe(Effect.provide(LimitsConfig.layerStatic({ maxRememberedAddresses: 3 }))),
  )
})

describe("GET /peers", () => {
  it.scoped("lists each peer with its state, kind and direction, and a dial that failed with its next retry", () =>
    Effect.gen(function* () {
      const first = yield* startObservedNode(4001)
      // Knows 4001 (up, ours) and 4009 (nobody there).
      const node = yield* startObservedNode(4002, [4001, 4009])
      const report = Effect.flatMap(node.get("/peers"), (response) =>
        Schema.decodeUnknown(Schema.parseJson(PeersReport))(response.body),
      )
      yield* TestClock.adjust("10 millis")
      const { address, peers } = yield* report
      expect(address).toBe(node.address)
      expect(peers.find((peer) => peer.address === first.address)).toMatchObject({
        state: "connected",
        kind: "ours",
        direction: "outbound",
      })
      expect(peers.find((peer) => peer.address === localAddress(4009))).toMatchObject({
        state: "backing off",
        failures: 1,
        lastFailure: { message: "connect ECONNREFUSED localhost:4009" },
      })
      // One address, in any spelling of it; one the table does not hold; text that is no address.
      const one = yield* node.get(`/peers?address=${encodeURIComponent("ws://LOCALHOST:4001")}`)
      expect(one.status).toBe(200)
      expect(yield* Schema.decodeUnknown(Schema.parseJson(PeersReport))(one.body)).toMatchObject({
        peers: [{ address: first.address, state: "connected" }],
      })
      expect((yield* node.get("/peers?address=ws://localhost:4100")).status).toBe(404)
      expect(yield* node.get("/peers?address=localhost:4001")).toMatchObject({ status: 400 })
    }).pipe(Effect.provide(TransportMemory.layerNetwork)),
  )

  it("lists every address with something under way, and only the most recent of those at rest", () => {
    const entry = (port: number, state: PeerTable.PeerEntry["state"], changedAt: number, queued = false) => ({
      ...PeerTable.heardOf(localAddress(port), changedAt),
      state,
      ...(queued ? { queued } : {}),
    })
    const known = { _tag: "Known" } as const
    const entries = [
      entry(1, known, 5),
      entry(2, { _tag: "Dialling", since: 1 }, 1),
      entry(3, known, 9),
      entry(4, known, 1, true),
      entry(5, known, 7),
      entry(6, { _tag: "BackingOff", until: 9, failures: 1 }, 2),
    ]
    const { listed, unlisted } = listedEntries(entries, 2)
    // In the table's order: the dial, the queued one and the wait, and the two most recent at rest.
    expect(listed.map((e) => e.address)).toEqual([2, 3, 4, 5, 6].map(localAddress))
    expect(unlisted).toBe(1)
    expect(listedEntries(entries, 3)).toEqual({ listed: entries, unlisted: 0 })
  })
})
