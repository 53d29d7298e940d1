import { mkdtemp, readFile, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as NodeContext from "@effect/platform-node/NodeContext"
import { describe, expect, it } from "@effect/vitest"
import { Effect, TestClock } from "effect"
import { makeTransaction } from "../src/domain/Transaction.js"
import * as LimitsConfig from "../src/layers/LimitsConfig.js"
import * as TransactionPoolFile from "../src/layers/TransactionPoolFile.js"
import * as TransactionPoolMemory from "../src/layers/TransactionPoolMemory.js"
import { withLogs } from "./support/logs.js"

/** Bounds a peer cannot talk past: address lengths and the pool's size (docs/limits.md). */

const txs = (count: number, toAddress = (i: number) => `04${i.toString(16)}`) =>
  Array.from({ length: count }, (_, i) =>
    makeTransaction({ fromAddress: null, toAddress: toAddress(i), amount: i + 1, timeStamp: i }),
  )

const fail = (): never => {
  throw new Error("no such transaction")
}

const tempFolder = Effect.acquireRelease(
  Effect.promise(() => mkdtemp(join(tmpdir(), "meshnode-limits-"))),
  (dir) => Effect.promise(() => rm(dir, { recursive: true, force: true })),
)

describe("pool limits", () => {
  it.effect("an address over MAX_ADDRESS_LENGTH is refused, counted and logged at most once a minute", () =>
    withLogs((logs) =>
      Effect.gen(function* () {
        const pool = yield* TransactionPoolMemory.make()
        const fits = makeTransaction({
          fromAddress: "a".repeat(16),
          toAddress: "b".repeat(16),
          amount: 1,
          timeStamp: 1,
        })
        const longTo = makeTransaction({ fromAddress: null, toAddress: "c".repeat(17), amount: 1, timeStamp: 1 })
        const longFrom = makeTransaction({ fromAddress: "d".repeat(17), toAddress: "e", amount: 1, timeStamp: 1 })
        expect(yield* pool.add(fits)).toBe(true)
        expect(yield* pool.add(longTo)).toBe(false)
        expect(yield* pool.add(longFrom)).toBe(false)
        expect(yield* pool.size).toBe(1)
        expect((yield* pool.health).refused).toEqual({ tooLong: 2, full: 0 })
        const [line] = yield* logs.named("transaction refused")
        expect(line?.annotations).toMatchObject({ reason: "address too long", count: 1 })
        expect(yield* logs.named("transaction refused")).toHaveLength(1)
        yield* TestClock.adjust("1 minute")
        yield* pool.add(longTo)
        const lines = yield* logs.named("transaction refused")
        expect(lines.map((l) => l.annotations.count)).toEqual([1, 2])
      }),
    ).pipe(Effect.provide(LimitsConfig.layerStatic({ maxAddressLength: 16 }))),
  )

  it.effect("a full pool refuses new transactions, keeps what it holds, and says so once a minute with a count", () =>
    withLogs((logs) =>
      Effect.gen(function* () {
        const pool = yield* TransactionPoolMemory.make()
        const all = txs(6)
        expect(yield* pool.addAll(all.slice(0, 4))).toEqual(all.slice(0, 3))
        expect(yield* pool.add(all[4] ?? fail())).toBe(false)
        // Known ones are no refusal.
        expect(yield* pool.add(all[0] ?? fail())).toBe(false)
        expect(yield* pool.list).toEqual(all.slice(0, 3))
        expect((yield* pool.health).refused).toEqual({ tooLong: 0, full: 2 })
        expect(yield* logs.named("pool full: transactions refused")).toHaveLength(1)
        yield* TestClock.adjust("1 minute")
        yield* pool.add(all[5] ?? fail())
        const lines = yield* logs.named("pool full: transactions refused")
        expect(lines.map((l) => l.annotations.count)).toEqual([1, 2])
        expect(lines[0]?.annotations.limit).toContain("MAX_POOL_TRANSACTIONS")
      }),
    ).pipe(Effect.provide(LimitsConfig.layerStatic({ maxPoolTransactions: 3 }))),
  )

  it.scoped("a file pool refuses new transactions once its file reached MAX_POOL_BYTES", () =>
    Effect.gen(function* () {
      const file = join(yield* tempFolder, "transactions.json")
      const all = txs(10)
      const entryBytes = Buffer.byteLength(JSON.stringify([all[0]], null, 2))
      const pool = yield* TransactionPoolFile.make(file).pipe(
        Effect.provide(LimitsConfig.layerStatic({ maxPoolBytes: 3 * entryBytes })),
      )
      const added = yield* pool.addAll(all)
      expect(added.length).toBeGreaterThanOrEqual(3)
      expect(added.length).toBeLessThan(all.length)
      yield* pool.flush
      const written = yield* Effect.promise(() => readFile(file, "utf8"))
      expect(written).toBe(JSON.stringify(added, null, 2))
      expect((yield* pool.health).refused.full).toBe(all.length - added.length)
    }).pipe(Effect.provide(NodeContext.layer)),
  )
})
