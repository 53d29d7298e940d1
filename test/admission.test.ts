import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Option, Queue, Schedule, TestClock } from "effect"
import { admit, type DoorRules, type IpEntry, newEntry, release, report } from "../src/domain/ipAdmission.js"
import { ipKey, makeIpBuckets } from "../src/domain/ipBuckets.js"
import type { MisbehaviourReason } from "../src/domain/misbehaviour.js"
import { makeTransaction } from "../src/domain/Transaction.js"
import * as AdmissionRef from "../src/layers/AdmissionRef.js"
import * as DoorLimitsConfig from "../src/layers/DoorLimitsConfig.js"
import * as TransportMemory from "../src/layers/TransportMemory.js"
import { Admission } from "../src/services/Admission.js"
import { listenWithDoor, openSocket } from "./support/door.js"
import { startGuardedNode } from "./support/guardedNode.js"
import { withLogs } from "./support/logs.js"
import { fakePeer, send } from "./support/memoryNode.js"

const rules: DoorRules = { maxConnectionsPerIp: 2, newConnectionsPerIpPerMinute: 3, banScore: 100, banMillis: 60_000 }

/** Admits `times` connections in a row at `now`: the verdicts' tags or reasons, and the entry after. */
const admitTimes = (entry: IpEntry, times: number, now: number) => {
  const verdicts: Array<string> = []
  let current = entry
  for (let i = 0; i < times; i++) {
    const [verdict, next] = admit(current, now, rules)
    verdicts.push(verdict._tag === "Admitted" ? "admitted" : verdict.reason)
    current = next
  }
  return [verdicts, current] as const
}

describe("the door's rules per IP (pure core)", () => {
  it("caps open connections and new connections a minute; a closed one frees its slot", () => {
    const [first, entry] = admitTimes(newEntry(rules, 0), 3, 0)
    expect(first).toEqual(["admitted", "admitted", "too many connections"])
    const [second, after] = admitTimes(release(entry), 2, 0)
    // The third new connection of the minute is the last the budget holds.
    expect(second).toEqual(["admitted", "too many connections"])
    const [third] = admitTimes(release(release(after)), 1, 0)
    expect(third).toEqual(["too many new connections"])
    expect(admitTimes(release(release(after)), 1, 20_000)[0]).toEqual(["admitted"])
  })

  it("misbehaviour adds up to a ban that ends after the ban time; scores fade meanwhile", () => {
    let entry = newEntry(rules, 0)
    const bans: Array<boolean> = []
    for (let i = 0; i < 10; i++) {
      const [banned, next] = report(entry, "bad frame", 0, rules)
      bans.push(banned)
      entry = next
    }
    // Banned once, on the tenth bad frame; reports during the ban start no new one.
    expect(bans).toEqual([...Array(9).fill(false), true])
    expect(report(entry, "bad frame", 1, rules)[0]).toBe(false)
    expect(admitTimes(entry, 1, 59_999)[0]).toEqual(["banned"])
    expect(admitTimes(entry, 1, 60_000)[0]).toEqual(["admitted"])
    // Nine bad frames, then 90 s of quiet: the score has faded and one more does not ban.
    let faded = newEntry(rules, 0)
    for (let i = 0; i < 9; i++) faded = report(faded, "bad frame", 0, rules)[1]
    expect(report(faded, "bad frame", 90_000, rules)[0]).toBe(false)
  })

  it("an IPv4-mapped IPv6 address is its IPv4 address; buckets per IP stay bounded", () => {
    expect(ipKey("::ffff:127.0.0.2")).toBe("127.0.0.2")
    expect(ipKey("::1")).toBe("::1")
    const buckets = makeIpBuckets({ capacity: 1, perSecond: 0 }, 100)
    for (let i = 0; i < 1_000; i++) buckets.take(`10.0.${i >> 8}.${i & 255}`, 0)
    expect(buckets.size()).toBeLessThanOrEqual(100)
  })
})

describe("the Admission service", () => {
  it.effect("a ban is logged once; refusals are summed up in one line per 10 s", () =>
    withLogs((logs) =>
      Effect.gen(function* () {
        const admission = yield* Admission
        for (let i = 0; i < 30; i++) yield* admission.report("::ffff:10.0.0.9", "bad frame")
        expect(yield* logs.named("peer banned")).toHaveLength(1)
        for (let i = 0; i < 50; i++) expect((yield* admission.admit("10.0.0.9"))._tag).toBe("Refused")
        expect(yield* logs.named("connections refused")).toHaveLength(0)
        yield* TestClock.adjust(AdmissionRef.SUMMARY_INTERVAL_MILLIS)
        const lines = yield* logs.named("connections refused")
        expect(lines).toHaveLength(1)
        expect(lines[0]?.annotations).toMatchObject({ banned: 50, ips: "10.0.0.9" })
        // Nothing refused since: no line.
        yield* TestClock.adjust(AdmissionRef.SUMMARY_INTERVAL_MILLIS)
        expect(yield* logs.named("connections refused")).toHaveLength(1)
      }).pipe(Effect.provide(AdmissionRef.layer), Effect.provide(DoorLimitsConfig.layerStatic({ banSeconds: 60 }))),
    ),
  )
})

describe("the Admission service without an IP", () => {
  it.effect("a report without an IP scores no one", () =>
    Effect.gen(function* () {
      const admission = yield* Admission
      for (let i = 0; i < 20; i++) yield* admission.report(undefined, "over limit")
      expect(yield* admission.admit(undefined)).toEqual({ _tag: "Admitted" })
    }).pipe(Effect.provide(AdmissionRef.layer)),
  )
})

describe("the door on a real socket", () => {
  it.live("per-IP caps are checked before the upgrade: refused with 503, other IPs unaffected", () =>
    Effect.gen(function* () {
      const { port } = yield* listenWithDoor({ maxConnectionsPerIp: 2 }, { admission: true })
      expect(yield* openSocket(port, "127.0.0.2")).toBe("open")
      const second = yield* Effect.scoped(
        Effect.gen(function* () {
          expect(yield* openSocket(port, "127.0.0.2")).toBe("open")
          expect(yield* openSocket(port, "127.0.0.2")).toBe(503)
          return yield* openSocket(port, "127.0.0.3")
        }),
      )
      expect(second).toBe("open")
      // Its second connection closed: the IP may connect again (once the node has seen the close).
      const again = yield* Effect.scoped(openSocket(port, "127.0.0.2")).pipe(
        Effect.filterOrFail((result) => result === "open"),
        Effect.retry(Schedule.spaced("20 millis")),
      )
      expect(again).toBe("open")
    }).pipe(Effect.scoped, Effect.timeout("20 seconds")),
  )

  it.live("too many new connections a minute gets 429; a banned IP gets 429 until its ban ends", () =>
    Effect.gen(function* () {
      const { port, admission } = yield* listenWithDoor({ newConnectionsPerIpPerMinute: 3 }, { admission: true })
      for (let i = 0; i < 3; i++) expect(yield* Effect.scoped(openSocket(port, "127.0.0.4"))).toBe("open")
      expect(yield* Effect.scoped(openSocket(port, "127.0.0.4"))).toBe(429)
      if (Option.isNone(admission)) return expect.fail("no Admission service")
      // A few more than the ban score takes: scores fade while they are reported.
      for (let i = 0; i < 12; i++) yield* admission.value.report("127.0.0.5", "bad frame")
      expect(yield* Effect.scoped(openSocket(port, "127.0.0.5"))).toBe(429)
      expect(yield* Effect.scoped(openSocket(port, "127.0.0.6"))).toBe("open")
    }).pipe(Effect.scoped, Effect.timeout("20 seconds")),
  )
})

describe("refused transactions", () => {
  /** An Admission that admits everyone and hands over each report, for the test to wait on. */
  const recordingAdmission = Effect.map(
    Queue.unbounded<readonly [string | undefined, MisbehaviourReason]>(),
    (reports) => ({
      reports,
      admission: Admission.of({
        admit: () => Effect.succeed({ _tag: "Admitted" }),
        release: () => Effect.void,
        report: (ip, reason) => Queue.offer(reports, [ip, reason]),
      }),
    }),
  )

  // TestClock starts at 0: this one is stamped far past the node's tolerance of the future.
  const fromTheFuture = (amount: number) =>
    makeTransaction({ fromAddress: null, toAddress: "04ab", amount, timeStamp: 10 ** 12 })

  it.scoped("count against a client that never named itself, not against a peer that relays them", () =>
    Effect.gen(function* () {
      const { reports, admission } = yield* recordingAdmission
      const node = yield* startGuardedNode(4001).pipe(Effect.provideService(Admission, admission))
      const client = yield* fakePeer(4200)
      const fromClient = yield* client.dial(node.address)
      yield* send(fromClient, { type: "TRANSACTION", data: fromTheFuture(1) })
      yield* send(fromClient, { type: "TRANSACTION", data: fromTheFuture(2) })
      expect(yield* Queue.takeN(reports, 2)).toEqual(
        Chunk.make(["127.0.0.1", "refused transaction"], ["127.0.0.1", "refused transaction"]),
      )
      // A spec node relays what it is sent, unchecked: what a peer relays costs it nothing.
      const peer = yield* fakePeer(4300)
      const fromPeer = yield* peer.dial(node.address)
      yield* send(fromPeer, { type: "HANDSHAKE", data: [peer.address] })
      yield* send(fromPeer, { type: "TRANSACTION", data: fromTheFuture(3) })
      // Its HANDSHAKE made the node dial back: once a second HANDSHAKE names a marker, every frame before was handled.
      yield* peer.nextInbound
      const marker = yield* fakePeer(4105)
      yield* send(fromPeer, { type: "HANDSHAKE", data: [marker.address] })
      yield* marker.nextInbound
      expect(yield* Queue.takeAll(reports)).toEqual(Chunk.empty())
    }).pipe(Effect.provide(TransportMemory.layerNetwork)),
  )
})
