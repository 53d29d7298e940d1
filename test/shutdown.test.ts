import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, Layer, Scope, TestClock } from "effect"
import { localAddress } from "../src/domain/Address.js"
import { makeTransaction } from "../src/domain/Transaction.js"
import * as NodeConfigFolder from "../src/layers/NodeConfigFolder.js"
import * as PeerStoreRef from "../src/layers/PeerStoreRef.js"
import * as TransactionPoolMemory from "../src/layers/TransactionPoolMemory.js"
import * as TransportMemory from "../src/layers/TransportMemory.js"
import { startNode } from "../src/protocol/Node.js"
import { UnwrittenAtStop } from "../src/protocol/shutdown.js"
import { healthyPool, TransactionPool } from "../src/services/TransactionPool.js"
import { type CapturedLog, withLogs } from "./support/logs.js"
import { startMemoryNode, waitForPeers } from "./support/memoryNode.js"

/** What a node says when it stops (src/protocol/shutdown.ts), on the in-memory network. */

const held = makeTransaction({ fromAddress: null, toAddress: "04abcdef", amount: 5, timeStamp: 1 })

const isLine = (message: string) => (line: CapturedLog) => line.message === message

/** A memory pool whose writes never reach the disk, as on a full one. */
const poolNeverWritten = Layer.effect(
  TransactionPool,
  Effect.map(TransactionPoolMemory.make([held]), (pool) =>
    TransactionPool.of({
      ...pool,
      flush: Effect.never,
      health: Effect.succeed({ ...healthyPool, degraded: true, reason: "ENOSPC", writeFailures: 3, unwritten: 1 }),
    }),
  ),
)

/** A memory pool whose writes succeed but reach the disk only `seconds` from now (a large pool on a busy disk). */
const poolWrittenSlowly = (seconds: number) =>
  Layer.scoped(
    TransactionPool,
    Effect.gen(function* () {
      const pool = yield* TransactionPoolMemory.make([held])
      const written = yield* Deferred.make<void>()
      yield* Effect.forkScoped(Effect.delay(Deferred.succeed(written, undefined), `${seconds} seconds`))
      return TransactionPool.of({
        ...pool,
        flush: Deferred.await(written),
        health: Effect.map(Deferred.isDone(written), (done) => ({ ...healthyPool, unwritten: done ? 0 : 1 })),
      })
    }),
  )

/** Starts a node on `pool` in its own scope, and begins closing that scope. */
const stopNodeOn = (port: number, pool: Layer.Layer<TransactionPool>) =>
  Effect.gen(function* () {
    const scope = yield* Scope.make()
    const context = yield* Layer.build(
      Layer.mergeAll(
        PeerStoreRef.layer,
        pool,
        TransportMemory.layer(),
        NodeConfigFolder.layerStatic({ port, knownPeers: [] }),
      ),
    ).pipe(Scope.extend(scope))
    yield* Effect.provide(startNode, context).pipe(Scope.extend(scope))
    return yield* Effect.fork(Scope.close(scope, Exit.void))
  })

describe("shutdown", () => {
  it.scoped("a stopping node says what it closes and holds, then that it stopped with its pool on disk", () =>
    withLogs((logs) =>
      Effect.gen(function* () {
        const scope = yield* Scope.make()
        yield* startMemoryNode(4301, [], { pool: [held] })
        const node = yield* startMemoryNode(4302, [4301], { pool: [held] }).pipe(Scope.extend(scope))
        yield* waitForPeers(node.peers, (snapshot) => snapshot.connected.length === 1)
        expect(yield* logs.named("stopping")).toEqual([])
        yield* Scope.close(scope, Exit.void)
        const lines = (yield* logs.lines).filter((line) => line.annotations.node === node.address)
        const stopping = lines.findIndex(isLine("stopping"))
        const stopped = lines.findIndex(isLine("stopped"))
        expect(lines[stopping]?.annotations).toMatchObject({ connections: 1, pool: 1 })
        expect(lines[stopped]).toMatchObject({ level: "INFO", annotations: { pool: 1 } })
        expect(stopping).toBeGreaterThanOrEqual(0)
        expect(stopped).toBeGreaterThan(stopping)
      }),
    ).pipe(Effect.provide(TransportMemory.layerNetwork)),
  )

  it.scoped(
    "a pool that does not reach the disk within 5 s: an error that says how many, and the node stops failed",
    () =>
      withLogs((logs) =>
        Effect.gen(function* () {
          const closing = yield* stopNodeOn(4303, poolNeverWritten)
          yield* logs.waitFor(isLine("stopping"))
          yield* TestClock.adjust("5 seconds")
          // The stop fails (the process exits non-zero) with how many were never written.
          const stop = yield* Fiber.await(closing)
          expect(stop).toEqual(Exit.die(new UnwrittenAtStop({ unwritten: 1 })))
          const [error] = (yield* logs.lines).filter((line) => line.level === "ERROR")
          expect(error?.message).toContain("stopped with 1 transaction not written to transactions.json")
          expect(error?.annotations).toMatchObject({ node: localAddress(4303), pool: 1, unwritten: 1 })
          expect(yield* logs.named("stopped")).toEqual([])
        }),
      ).pipe(Effect.provide(TransportMemory.layerNetwork)),
  )

  it.scoped("a pool whose writes succeed but take long is waited for: the node stops with it on disk", () =>
    withLogs((logs) =>
      Effect.gen(function* () {
        const closing = yield* stopNodeOn(4305, poolWrittenSlowly(12))
        yield* logs.waitFor(isLine("stopping"))
        yield* TestClock.adjust("12 seconds")
        expect(yield* Fiber.await(closing)).toEqual(Exit.void)
        expect(yield* logs.named("stopped")).toHaveLength(1)
        expect((yield* logs.lines).filter((line) => line.level === "ERROR")).toEqual([])
      }),
    ).pipe(Effect.provide(TransportMemory.layerNetwork)),
  )

  it.scoped("a node that never finished starting says neither", () =>
    withLogs((logs) =>
      Effect.gen(function* () {
        yield* startMemoryNode(4304)
        // The port is taken: the second node fails to listen and its scope closes.
        const second = yield* Effect.exit(Effect.scoped(startMemoryNode(4304)))
        expect(Exit.isFailure(second)).toBe(true)
        expect(yield* logs.named("stopping")).toEqual([])
        expect(yield* logs.named("stopped")).toEqual([])
      }),
    ).pipe(Effect.provide(TransportMemory.layerNetwork)),
  )
})
