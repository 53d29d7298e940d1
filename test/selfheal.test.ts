import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import {
  Chunk,
  Deferred,
  Duration,
  Effect,
  Exit,
  Fiber,
  Logger,
  LogLevel,
  Option,
  Ref,
  Schedule,
  Scope,
  Stream,
  SubscriptionRef,
  TestClock,
} from "effect"
import { type Address, localAddress } from "../src/domain/Address.js"
import { poolDigest } from "../src/domain/poolDigest.js"
import { makeTransaction, type Transaction } from "../src/domain/Transaction.js"
import * as NodeConfigFolder from "../src/layers/NodeConfigFolder.js"
import * as PeerStoreRef from "../src/layers/PeerStoreRef.js"
import * as TransactionPoolFile from "../src/layers/TransactionPoolFile.js"
import * as TransactionPoolMemory from "../src/layers/TransactionPoolMemory.js"
import * as TransportMemory from "../src/layers/TransportMemory.js"
import { makeRedialer } from "../src/protocol/redial.js"
import { type DialOutcome, type RedialPolicy, redialSchedule } from "../src/protocol/redialLoop.js"
import { poolSummary } from "../src/protocol/sync.js"
import { startGuardedNode } from "./support/guardedNode.js"
import { fakePeer, record, send, startMemoryNode, waitForPeers, waitForPoolSize } from "./support/memoryNode.js"
import { writeNodeFolder } from "./support/processes.js"
import { startSpecPeer } from "./support/specPeer.js"

const txs = (from: number, to: number): Array<Transaction> =>
  Array.from({ length: to - from }, (_, i) =>
    makeTransaction({ fromAddress: null, toAddress: "04abcdef", amount: 1 + ((from + i) % 100), timeStamp: from + i }),
  )

const policy: RedialPolicy = {
  baseDelay: "200 millis",
  maxDelay: "5 seconds",
  learnedAttempts: 4,
  givenUpRest: "1 minute",
}

/** Nominal delay before jitter of the n-th redial (0-based): doubling from the base, capped. */
const nominal = (n: number) => Math.min(200 * 2 ** n, 5_000)

/** Collects the messages logged while `effect` runs. */
const withLogCapture = <A, E, R>(effect: (logs: Array<string>) => Effect.Effect<A, E, R>) => {
  const logs: Array<string> = []
  const logger = Logger.make(({ message }) => {
    logs.push(Array.isArray(message) ? message.join(" ") : String(message))
  })
  return effect(logs).pipe(Effect.provide(Logger.replace(Logger.defaultLogger, logger)))
}

/** `lister` dials `node` with a HANDSHAKE that lists `address` besides itself, as a peer of the mesh would. */
const listedBy = (lister: Effect.Effect.Success<ReturnType<typeof fakePeer>>, node: Address, address: Address) =>
  Effect.flatMap(lister.dial(node), (connection) =>
    send(connection, { type: "HANDSHAKE", data: [lister.address, address] }),
  )

describe("redial policy", () => {
  it.effect("delays double from the base, stop at the cap, and are jittered to between half and all of it", () =>
    Effect.gen(function* () {
      const delays = Chunk.toArray(
        yield* Schedule.run(
          redialSchedule(policy),
          0,
          Array.from({ length: 40 }, () => undefined),
        ),
      ).map(Duration.toMillis)
      expect(delays).toHaveLength(40)
      delays.forEach((delay, n) => {
        expect(delay).toBeGreaterThanOrEqual(nominal(n) / 2)
        expect(delay).toBeLessThanOrEqual(nominal(n))
      })
      // The first retry comes well under a second; capped delays still vary (jitter).
      expect(delays[0]).toBeLessThanOrEqual(200)
      const capped = delays.slice(10)
      expect(Math.max(...capped)).toBeLessThanOrEqual(5_000)
      expect(new Set(capped).size).toBeGreaterThan(1)
    }),
  )

  it.scoped("a known address is redialled forever on that schedule; a learned one is given up (logged)", () =>
    withLogCapture((logs) =>
      Effect.gen(function* () {
        const attempts = yield* Ref.make<ReadonlyArray<{ address: Address; at: number }>>([])
        const known = localAddress(4001)
        const learned = localAddress(4105)
        const redialer = yield* makeRedialer({
          policy,
          table: yield* PeerStoreRef.make,
          isKnown: (address) => address === known,
          connect: (address) =>
            Effect.flatMap(TestClock.currentTimeMillis, (at) =>
              Ref.update(attempts, (list) => [...list, { address, at }]),
            ).pipe(Effect.as<DialOutcome>("Unreachable")),
        })
        yield* redialer.dial(known)
        yield* redialer.dial(learned)
        yield* TestClock.adjust("10 minutes")
        const all = yield* Ref.get(attempts)
        const times = (address: Address) => all.filter((a) => a.address === address).map((a) => a.at)

        const knownTimes = times(known)
        // 10 minutes at no more than 5 s apart, no less than 2.5 s once capped.
        expect(knownTimes.length).toBeGreaterThan(120)
        knownTimes.slice(1).forEach((at, n) => {
          const gap = at - (knownTimes[n] ?? 0)
          expect(gap).toBeGreaterThanOrEqual(Math.floor(nominal(n) / 2))
          expect(gap).toBeLessThanOrEqual(nominal(n))
        })
        // The first dial and three redials: four failures, then it is given up.
        expect(times(learned)).toHaveLength(4)
        expect(logs).toContain("giving up on learned peer")
        // Given up means forgotten: a later dial starts afresh.
        yield* redialer.dial(learned)
        expect(times(learned)).toHaveLength(4)
        yield* Effect.yieldNow()
        expect((yield* Ref.get(attempts)).filter((a) => a.address === learned)).toHaveLength(5)
      }),
    ),
  )

  it.scoped("asking again for an address that is waiting out its delay dials it at once, never twice at once", () =>
    Effect.gen(function* () {
      const dials = yield* Ref.make(0)
      const inFlight = yield* Ref.make(0)
      const maxInFlight = yield* Ref.make(0)
      const redialer = yield* makeRedialer({
        policy: { ...policy, baseDelay: "1 minute", maxDelay: "1 hour" },
        table: yield* PeerStoreRef.make,
        isKnown: () => true,
        connect: () =>
          Effect.gen(function* () {
            yield* Ref.update(dials, (n) => n + 1)
            const now = yield* Ref.updateAndGet(inFlight, (n) => n + 1)
            yield* Ref.update(maxInFlight, (max) => Math.max(max, now))
            yield* Effect.yieldNow()
            yield* Ref.update(inFlight, (n) => n - 1)
            return "Unreachable" as const
          }),
      })
      const address = localAddress(4001)
      yield* redialer.dial(address)
      yield* Effect.yieldNow()
      yield* Effect.yieldNow()
      expect(yield* Ref.get(dials)).toBe(1)
      // No time passes: the second dial comes from the nudge, not from the schedule.
      yield* Effect.repeat(redialer.dial(address), { times: 5 })
      yield* Stream.runDrain(Stream.take(Stream.repeatEffect(Effect.yieldNow()), 20))
      expect(yield* Ref.get(dials)).toBeGreaterThan(1)
      expect(yield* Ref.get(maxInFlight)).toBe(1)
    }),
  )
})

describe("one fiber per address", () => {
  it.scoped(
    "a fiber holding an address is its loop: a dial meanwhile does nothing; once it lets go, a redial dials",
    () =>
      Effect.gen(function* () {
        const dials = yield* Ref.make(0)
        const redialer = yield* makeRedialer({
          policy,
          table: yield* PeerStoreRef.make,
          isKnown: () => true,
          connect: () =>
            Effect.as(
              Ref.update(dials, (n) => n + 1),
              "Unreachable" as const,
            ),
        })
        const address = localAddress(4001)
        // A fiber serving a connection the peer opened (an adopted one), for as long as `holding` lasts.
        const holding = yield* Scope.make()
        const held = yield* Deferred.make<void>()
        const holder = yield* Effect.fork(
          redialer
            .hold(address, holding)
            .pipe(Effect.zipRight(Deferred.succeed(held, undefined)), Effect.zipRight(Effect.never)),
        )
        yield* Deferred.await(held)
        expect(redialer.isDialling(address)).toBe(true)
        yield* redialer.dial(address)
        yield* TestClock.adjust("10 seconds")
        expect(yield* Ref.get(dials)).toBe(0)
        // Let go (the connection ended): the address has no loop until someone asks for one.
        yield* Scope.close(holding, Exit.void)
        expect(redialer.isDialling(address)).toBe(false)
        yield* redialer.redial(address)
        yield* TestClock.adjust("200 millis")
        expect(yield* Ref.get(dials)).toBeGreaterThanOrEqual(1)
        // The new loop took the address's place in the map: the old fiber, if still there, is ended.
        expect(Exit.isInterrupted(yield* Fiber.await(holder))).toBe(true)
      }),
  )
})

describe("self-healing on the in-memory network", () => {
  it.scoped("a known peer that is not up yet is dialled until it answers, whatever the start order", () =>
    Effect.gen(function* () {
      // node-2 first; its known peers come up later.
      const node2 = yield* startMemoryNode(4002, [4001, 4003])
      yield* TestClock.adjust("3 seconds")
      const node1 = yield* startMemoryNode(4001, [4001, 4003])
      const node3 = yield* startMemoryNode(4003, [4001, 4003])
      const everyone = [node1, node2, node3]
      const meshed = Effect.forEach(everyone, (node) =>
        waitForPeers(node.peers, (s) => everyone.every((o) => o === node || s.connected.includes(o.address))),
      ).pipe(Effect.fork)
      const fiber = yield* meshed
      // At most one capped delay (5 s) for node-2's next redial.
      yield* TestClock.adjust("5 seconds")
      yield* Fiber.join(fiber)
    }).pipe(Effect.provide(TransportMemory.layerNetwork)),
  )

  it.scoped("a peer that drops is redialled with backoff until it is back", () =>
    Effect.gen(function* () {
      const node2Scope = yield* Scope.make()
      // node-2 knows nobody, so only node-1's redial can bring the two back together.
      yield* startMemoryNode(4002).pipe(Scope.extend(node2Scope))
      const node1 = yield* startMemoryNode(4001, [4002])
      yield* waitForPeers(node1.peers, (s) => s.connected.includes(localAddress(4002)))
      const dropped = yield* Effect.fork(waitForPeers(node1.peers, (s) => s.connected.length === 0))
      yield* Scope.close(node2Scope, Exit.void)
      yield* Fiber.join(dropped)
      // Down for a while: node-1's redials fail and back off.
      yield* TestClock.adjust("20 seconds")
      const node2 = yield* startMemoryNode(4002)
      const back = yield* Effect.fork(waitForPeers(node2.peers, (s) => s.connected.includes(node1.address)))
      // Within one capped delay.
      yield* TestClock.adjust("5 seconds")
      yield* Fiber.join(back)
      expect((yield* node1.peers.snapshot).connected).toEqual([localAddress(4002)])
    }).pipe(Effect.provide(TransportMemory.layerNetwork)),
  )

  it.scoped("a peer that stops answering pings is dropped within the heartbeat timeout", () =>
    Effect.gen(function* () {
      const node = yield* startMemoryNode(4001, [], { healing: { heartbeatTimeoutMillis: 10_000 } })
      const quiet = yield* fakePeer(4105)
      const lively = yield* fakePeer(4106)
      for (const peer of [quiet, lively]) {
        yield* send(yield* peer.dial(node.address), { type: "HANDSHAKE", data: [peer.address] })
        yield* peer.nextInbound
      }
      yield* waitForPeers(node.peers, (s) => s.connected.length === 2)
      yield* quiet.setAnswersPings(false)
      const dropped = yield* Effect.fork(waitForPeers(node.peers, (s) => !s.connected.includes(quiet.address)))
      yield* TestClock.adjust("9999 millis")
      expect((yield* node.peers.snapshot).connected).toContain(quiet.address)
      yield* TestClock.adjust("1 millis")
      const after = yield* Fiber.join(dropped)
      // The peer that answers stays.
      expect(after.connected).toEqual([lively.address])
    }).pipe(Effect.provide(TransportMemory.layerNetwork)),
  )

  it.scoped("a learned peer that never answers is given up, and listing it again dials it only after a rest", () =>
    Effect.gen(function* () {
      const node = yield* startMemoryNode(4001, [], {
        healing: { redialLearnedAttempts: 2, heartbeatTimeoutMillis: 10_000, givenUpRestMillis: 60_000 },
      })
      const deaf = yield* fakePeer(4105)
      yield* deaf.setAnswersPings(false)
      const lister = yield* fakePeer(4106)
      const listDeaf = listedBy(lister, node.address, deaf.address)
      const stateOfDeaf = Effect.map(node.peers.entry(deaf.address), (entry) => entry?.state._tag)
      yield* listDeaf
      yield* deaf.nextInbound
      // Each connection lasts the heartbeat's 10 s, longer than the 5 s after which a connection that
      // held resets the backoff; a peer that never answered a ping did not hold: two failures.
      yield* TestClock.adjust("30 seconds")
      expect(yield* stateOfDeaf).toBe("GivenUp")
      expect(yield* deaf.acceptedCount).toBe(1)
      // Listed again within the rest: left alone.
      yield* listDeaf
      yield* TestClock.adjust("1 second")
      expect(yield* deaf.acceptedCount).toBe(1)
      expect(yield* stateOfDeaf).toBe("GivenUp")
      // After it, a listing dials it again.
      yield* TestClock.adjust("1 minute")
      yield* listDeaf
      yield* TestClock.adjust("1 second")
      expect(yield* deaf.acceptedCount).toBe(2)
    }).pipe(Effect.provide(TransportMemory.layerNetwork)),
  )

  it.scoped("a learned peer cut off for leaving what it is sent unread is given up with a rest, before any ping", () =>
    Effect.gen(function* () {
      const deafAddress = localAddress(4105)
      const node = yield* startGuardedNode(4001, {
        healing: { redialLearnedAttempts: 2, givenUpRestMillis: 60_000 },
        // What a real socket reports once the peer has left MAX_SEND_BUFFER_BYTES unread (wsConnection.ts).
        dial: (memory) => (address) =>
          Effect.map(memory.dial(address), (connection) =>
            address === deafAddress ? { ...connection, stoppedReading: () => true } : connection,
          ),
      })
      const deaf = yield* fakePeer(4105)
      const lister = yield* fakePeer(4106)
      const listDeaf = listedBy(lister, node.address, deaf.address)
      yield* listDeaf
      // Each connection is cut off at once, long before the heartbeat's first ping: two failures.
      for (let i = 0; i < 2; i++) {
        yield* (yield* deaf.nextInbound).close
        yield* TestClock.adjust("5 seconds")
      }
      expect((yield* node.peers.entry(deaf.address))?.state._tag).toBe("GivenUp")
      // Listed again within the rest: left alone (no connection waits at the peer), as a peer that never
      // answered pings is.
      yield* listDeaf
      yield* TestClock.adjust("1 second")
      expect(yield* deaf.acceptedCount).toBe(0)
    }).pipe(Effect.provide(TransportMemory.layerNetwork)),
  )

  it.scoped("a learned address given up as unreachable is dialled again as soon as a peer lists it", () =>
    Effect.gen(function* () {
      const node = yield* startMemoryNode(4001, [], { healing: { redialLearnedAttempts: 2 } })
      const lister = yield* fakePeer(4106)
      const late = localAddress(4107)
      const listLate = listedBy(lister, node.address, late)
      yield* listLate
      yield* TestClock.adjust("5 seconds")
      expect((yield* node.peers.entry(late))?.state._tag).toBe("GivenUp")
      // It was down; listed again once it is up, it is dialled at once: it may be back.
      const back = yield* fakePeer(4107)
      yield* listLate
      yield* TestClock.adjust("1 second")
      expect(yield* back.acceptedCount).toBe(1)
    }).pipe(Effect.provide(TransportMemory.layerNetwork)),
  )

  it.scoped("the sync exchange brings two pools to the same set, in both directions, across chunks", () =>
    Effect.gen(function* () {
      const node1 = yield* startMemoryNode(4001, [], { pool: txs(0, 3_000) })
      const node2 = yield* startMemoryNode(4002, [4001], { pool: txs(1_500, 4_500) })
      yield* waitForPoolSize(node1.pool, 4_500)
      yield* waitForPoolSize(node2.pool, 4_500)
      const hashes = (list: ReadonlyArray<Transaction>) => list.map((tx) => tx.hash).sort()
      expect(hashes(yield* node1.pool.list)).toEqual(hashes(txs(0, 4_500)))
      expect(hashes(yield* node2.pool.list)).toEqual(hashes(txs(0, 4_500)))
    }).pipe(Effect.provide(TransportMemory.layerNetwork)),
  )

  it.scoped("pools that agree exchange only their summaries", () =>
    Effect.gen(function* () {
      const pool = txs(0, 50)
      const node = yield* startMemoryNode(4001, [], { pool })
      const peer = yield* fakePeer(4105, { ours: "listener" })
      const toNode = yield* record(yield* peer.dial(node.address))
      const summary = yield* poolSummary.pipe(Effect.provide(TransactionPoolMemory.layer(pool)))
      yield* send(toNode.connection, { type: "HANDSHAKE", data: [peer.address] })
      yield* send(toNode.connection, summary)
      const fromNode = yield* record(yield* peer.nextInbound)
      expect(yield* fromNode.nextMessage).toMatchObject({ type: "HANDSHAKE" })
      expect(yield* fromNode.nextMessage).toEqual(summary)
      // Then who it relays to (docs/scaling.md), which is not about the pool.
      expect(yield* fromNode.nextMessage).toMatchObject({ type: "PEERS" })
      // A fresh transaction is the next thing the peer gets: nothing of the pool was sent.
      const [marker] = txs(50, 51)
      if (marker === undefined) return
      yield* send(toNode.connection, { type: "TRANSACTION", data: marker })
      expect(yield* fromNode.nextMessage).toEqual({ type: "TRANSACTION", data: marker })
      expect(yield* toNode.pending).toEqual(Option.some(0))
    }).pipe(Effect.provide(TransportMemory.layerNetwork)),
  )

  it.scoped("pools that differ: the node sends its hashes, answers requests, and takes what it lacks", () =>
    Effect.gen(function* () {
      const [t1, t2, t3] = txs(0, 3)
      if (t1 === undefined || t2 === undefined || t3 === undefined) return
      const node = yield* startMemoryNode(4001, [], { pool: [t1, t2] })
      const peer = yield* fakePeer(4105)
      const toNode = yield* record(yield* peer.dial(node.address))
      const summary = yield* poolSummary.pipe(Effect.provide(TransactionPoolMemory.layer([t2, t3])))
      yield* send(toNode.connection, { type: "HANDSHAKE", data: [peer.address] })
      yield* send(toNode.connection, summary)
      expect(yield* toNode.nextMessage).toEqual({
        type: "SYNC_HASHES",
        data: { from: "", to: null, hashes: [t1.hash, t2.hash].sort() },
      })
      // A malformed sync message is refused like any bad frame; the connection carries on.
      yield* toNode.connection.send(JSON.stringify({ type: "SYNC_REQUEST", data: ["not a hash"] }))
      yield* toNode.connection.send(JSON.stringify({ type: "SYNC_HASHES", data: { from: "", to: null } }))
      yield* send(toNode.connection, { type: "SYNC_REQUEST", data: [t1.hash] })
      expect(yield* toNode.nextMessage).toEqual({ type: "TRANSACTION", data: t1 })
      yield* send(toNode.connection, { type: "TRANSACTION", data: t3 })
      yield* waitForPoolSize(node.pool, 3)
    }).pipe(Effect.provide(TransportMemory.layerNetwork)),
  )

  it.scoped(
    "anti-entropy: a transaction one node holds and its peer missed reaches the peer within a sync interval",
    () =>
      Effect.gen(function* () {
        const [t1] = txs(0, 1)
        if (t1 === undefined) return
        const healing = { syncIntervalMillis: 10_000 }
        const node1 = yield* startMemoryNode(4001, [4002], { healing })
        const node2 = yield* startMemoryNode(4002, [4001], { healing })
        yield* waitForPeers(node1.peers, (s) => s.connected.includes(node2.address))
        yield* waitForPeers(node2.peers, (s) => s.connected.includes(node1.address))
        // Into node 2's pool behind the gossip's back, as if node 1 had missed its frame.
        expect(yield* node2.pool.add(t1)).toBe(true)
        expect(yield* node1.pool.size).toBe(0)
        yield* TestClock.adjust("13 seconds")
        yield* waitForPoolSize(node1.pool, 1)
      }).pipe(Effect.provide(TransportMemory.layerNetwork)),
  )

  it.scoped("a spec-only peer, which ignores the sync messages, still gets a full mesh", () =>
    Effect.gen(function* () {
      const node1 = yield* startMemoryNode(4001, [4001, 4003])
      const spec = yield* startSpecPeer(4002, [4001, 4003])
      const node3 = yield* startMemoryNode(4003, [4001, 4003])
      const addresses = [node1.address, spec.address, node3.address]
      for (const node of [node1, node3]) {
        yield* waitForPeers(node.peers, (s) => addresses.every((a) => a === node.address || s.connected.includes(a)))
      }
      yield* spec.connected.changes.pipe(
        Stream.filter((connected) => connected.includes(node1.address) && connected.includes(node3.address)),
        Stream.runHead,
      )
      expect((yield* SubscriptionRef.get(spec.connected)).length).toBe(2)
      // Our nodes still gossip to each other through the mixed network.
      const [tx] = txs(0, 1)
      if (tx === undefined) return
      const client = yield* fakePeer(4200)
      yield* send(yield* client.dial(node1.address), { type: "TRANSACTION", data: tx })
      yield* waitForPoolSize(node3.pool, 1)
    }).pipe(Effect.provide(TransportMemory.layerNetwork)),
  )
})

/** A temporary folder for the test's scope. */
const tempFolder = Effect.acquireRelease(
  Effect.promise(() => mkdtemp(join(tmpdir(), "meshnode-selfheal-"))),
  (dir) => Effect.promise(() => rm(dir, { recursive: true, force: true })),
)

describe("the pool file and the node folder at start-up", () => {
  it.scoped("a corrupt or wrongly-shaped pool file is refused, named, and never overwritten", () =>
    Effect.gen(function* () {
      const dir = yield* tempFolder
      const [tx] = txs(0, 1)
      const contents = {
        truncated: '[{"fromAddress": null,',
        object: '{"transactions":[]}',
        "bad hash": JSON.stringify([{ ...tx, amount: 43 }]),
        "not a transaction": JSON.stringify([1, 2, 3]),
      }
      for (const [name, content] of Object.entries(contents)) {
        const file = join(dir, `${name.replace(" ", "-")}.json`)
        yield* Effect.promise(() => writeFile(file, content))
        const error = yield* Effect.flip(Effect.scoped(TransactionPoolFile.make(file)))
        expect(error).toMatchObject({ _tag: "PoolError", reason: "Corrupt", file })
        expect(error.message).toContain(file)
        expect(yield* Effect.promise(() => readFile(file, "utf8"))).toBe(content)
      }
      // A missing one is created empty.
      const missing = join(dir, "missing.json")
      yield* Effect.scoped(TransactionPoolFile.make(missing))
      expect(yield* Effect.promise(() => readFile(missing, "utf8"))).toBe("[]")
    }).pipe(Effect.provide(NodeContext.layer)),
  )

  it.effect("the pool's summary is the digest of its sorted hashes, worked out again only once the pool grows", () =>
    Effect.gen(function* () {
      const pool = yield* TransactionPoolMemory.make()
      const [first, second, third] = txs(0, 3)
      if (first === undefined || second === undefined || third === undefined) return expect.fail("three transactions")
      expect(yield* pool.summary).toEqual({ count: 0, digest: poolDigest([]) })
      yield* pool.addAll([second, first])
      const summary = yield* pool.summary
      expect(summary).toEqual({ count: 2, digest: poolDigest([first.hash, second.hash]) })
      // Asked again with nothing new (every new connection asks): the same answer, not worked out again.
      yield* pool.add(first)
      expect(yield* pool.summary).toBe(summary)
      yield* pool.add(third)
      expect(yield* pool.summary).toEqual({ count: 3, digest: poolDigest([third.hash, second.hash, first.hash]) })
    }),
  )

  it.scoped("a missing folder, a bad PORT, a bad setting, or a malformed known-peers.json is refused by name", () =>
    Effect.gen(function* () {
      const dir = yield* tempFolder
      const cases = [
        { env: "PORT=forty-two\n", peers: "[]", names: ".env" },
        { env: "PORT=7180\nREDIAL_MAX_DELAY_MS=-5\n", peers: "[]", names: ".env" },
        { env: "PORT=7180\n", peers: '["ws://localhost:7101",', names: "known-peers.json" },
        { env: "PORT=7180\n", peers: '{"peers":[]}', names: "known-peers.json" },
      ]
      for (const [i, c] of cases.entries()) {
        const folder = join(dir, `node-${i}`)
        yield* Effect.promise(async () => {
          await mkdir(folder)
          await writeFile(join(folder, ".env"), c.env)
          await writeFile(join(folder, "known-peers.json"), c.peers)
        })
        const error = yield* Effect.flip(NodeConfigFolder.make(folder))
        expect(error._tag).toBe("NodeConfigError")
        expect(error.message).toContain(join(folder, c.names))
      }
      // A folder that is not there, or a file named as the folder.
      const missing = yield* Effect.flip(NodeConfigFolder.make(join(dir, "node-missing")))
      expect(missing.message).toBe(
        `node folder ${join(dir, "node-missing")} does not exist: name an existing one, or create one with npm run clone-node`,
      )
      yield* Effect.promise(() => writeFile(join(dir, "a-file"), ""))
      const notFolder = yield* Effect.flip(NodeConfigFolder.make(join(dir, "a-file")))
      expect(notFolder.message).toContain("is not a folder")
    }).pipe(Effect.provide(NodeContext.layer)),
  )

  it.scoped("POOL_FSYNC comes from .env (default true); without fsync the file is still replaced whole", () =>
    Effect.gen(function* () {
      const dir = yield* tempFolder
      const folderWith = (name: string, env: Record<string, string>) =>
        Effect.promise(() => writeNodeFolder(dir, name, { port: 7181, knownPeers: [], env }))
      expect((yield* NodeConfigFolder.make(yield* folderWith("default", {}))).pool).toEqual({ fsync: true })
      const off = yield* NodeConfigFolder.make(yield* folderWith("off", { POOL_FSYNC: "false" }))
      expect(off.pool).toEqual({ fsync: false })
      const bad = yield* Effect.flip(NodeConfigFolder.make(yield* folderWith("bad", { POOL_FSYNC: "maybe" })))
      expect(bad.message).toContain("POOL_FSYNC")

      // Small files and large ones (over 256 KB) take different ways to the disk.
      for (const count of [3, 2_000]) {
        const file = join(dir, `pool-${count}.json`)
        const pool = yield* TransactionPoolFile.make(file, off.pool)
        const added = txs(0, count)
        yield* pool.addAll(added)
        yield* pool.flush
        expect(yield* Effect.promise(() => readFile(file, "utf8"))).toBe(JSON.stringify(added, null, 2))
      }
    }).pipe(Effect.provide(NodeContext.layer)),
  )

  it.live("a burst of 1,000 costs a few writes, and the file is JSON.stringify(pool, null, 2)", () =>
    withLogCapture((logs) =>
      Effect.gen(function* () {
        const file = join(yield* tempFolder, "transactions.json")
        const burst = txs(0, 1_000)
        const pool = yield* TransactionPoolFile.make(file)
        yield* Effect.forEach(burst, pool.add, { discard: true })
        yield* pool.flush
        expect(yield* Effect.promise(() => readFile(file, "utf8"))).toBe(JSON.stringify(burst, null, 2))
        const writes = logs.filter((message) => message === "pool written").length
        expect(writes).toBeGreaterThan(0)
        expect(writes).toBeLessThanOrEqual(3)
      }).pipe(Effect.scoped, Effect.provide(NodeContext.layer), Logger.withMinimumLogLevel(LogLevel.Debug)),
    ),
  )

  it.live("a write that fails is logged and retried until it succeeds; nothing added meanwhile is lost", () =>
    withLogCapture((logs) =>
      Effect.gen(function* () {
        const file = join(yield* tempFolder, "transactions.json")
        const pool = yield* TransactionPoolFile.make(file)
        // The temporary file's name taken by a folder: every write fails until it is gone.
        const blocker = `${file}.tmp-${process.pid}`
        yield* Effect.promise(() => mkdir(blocker))
        const [first, second] = txs(0, 2)
        if (first === undefined || second === undefined) return
        yield* pool.add(first)
        const failed = Effect.suspend(() =>
          logs.some((line) => line.startsWith("pool write failed; retrying")) ? Effect.void : Effect.fail("not yet"),
        )
        yield* failed.pipe(Effect.retry(Schedule.spaced("5 millis")), Effect.timeout("5 seconds"))
        yield* pool.add(second)
        expect(yield* Effect.promise(() => readFile(file, "utf8"))).toBe("[]")
        yield* Effect.promise(() => rm(blocker, { recursive: true }))
        yield* pool.flush.pipe(Effect.timeout("5 seconds"))
        expect(yield* Effect.promise(() => readFile(file, "utf8"))).toBe(JSON.stringify([first, second], null, 2))
      }).pipe(Effect.scoped, Effect.provide(NodeContext.layer)),
    ),
  )

  it.live("shutting down while every write fails ends after the flush's 5 s, with the failure logged", () =>
    withLogCapture((logs) =>
      Effect.gen(function* () {
        const file = join(yield* tempFolder, "transactions.json")
        yield* Effect.promise(() => mkdir(`${file}.tmp-${process.pid}`))
        const closed = yield* Effect.gen(function* () {
          const pool = yield* TransactionPoolFile.make(file)
          yield* Effect.forEach(txs(0, 3), pool.add, { discard: true })
        }).pipe(Effect.scoped, Effect.timed, Effect.timeout("15 seconds"))
        expect(Duration.toMillis(closed[0])).toBeGreaterThanOrEqual(4_900)
        expect(logs.some((line) => line.startsWith("pool write failed; retrying"))).toBe(true)
        expect(yield* Effect.promise(() => readFile(file, "utf8"))).toBe("[]")
      }).pipe(Effect.scoped, Effect.provide(NodeContext.layer)),
    ),
  )
})
