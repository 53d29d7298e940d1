import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as NodeContext from "@effect/platform-node/NodeContext"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { bucketDigest, bucketOf, digestOfBuckets, lowerBound, poolDigest } from "../src/domain/poolDigest.js"
import { makeTransaction, type Transaction } from "../src/domain/Transaction.js"
import { makePoolInventory } from "../src/layers/poolInventory.js"
import * as TransactionPoolFile from "../src/layers/TransactionPoolFile.js"
import * as TransactionPoolMemory from "../src/layers/TransactionPoolMemory.js"
import type { TransactionPoolShape } from "../src/services/TransactionPool.js"

/** The pool's inventory: its hashes kept sorted as it grows, and transactions read back one by one. */

const txs = (from: number, to: number): Array<Transaction> =>
  Array.from({ length: to - from }, (_, i) =>
    makeTransaction({ fromAddress: null, toAddress: "04abcdef", amount: 1 + ((from + i) % 100), timeStamp: from + i }),
  )

const tempFolder = Effect.acquireRelease(
  Effect.promise(() => mkdtemp(join(tmpdir(), "meshnode-inventory-"))),
  (dir) => Effect.promise(() => rm(dir, { recursive: true, force: true })),
)

describe("the pool's digest and sorted hashes", () => {
  it("the digest is of the 256 buckets' digests: the same hashes in any order, any other set differs", () => {
    const hashes = txs(0, 300).map((tx) => tx.hash)
    const digest = poolDigest(hashes)
    expect(poolDigest([...hashes].reverse())).toBe(digest)
    expect(poolDigest(hashes.slice(1))).not.toBe(digest)
    expect(poolDigest([])).toBe(digestOfBuckets(Array.from({ length: 256 }, () => bucketDigest([]))))
    expect(["00ab", "0f", "a0", "ff01", "9z", ""].map(bucketOf)).toEqual([0, 15, 160, 255, 0, 0])
  })

  it("an inventory keeps its digest and order as it grows, and answers ranges of its hashes", () => {
    const hashes = txs(0, 600).map((tx) => tx.hash)
    const inventory = makePoolInventory(hashes.slice(0, 400))
    for (const hash of hashes.slice(400)) inventory.add(hash)
    const sorted = [...hashes].sort()
    expect(inventory.summary()).toEqual({ count: 600, digest: poolDigest(hashes) })
    expect(inventory.range("", null)).toEqual(sorted)
    // From a hash (included) to another (not included), at most a limit, wherever the buckets break.
    expect(inventory.range(sorted[10] ?? "", sorted[500] ?? null)).toEqual(sorted.slice(10, 500))
    expect(inventory.range(sorted[10] ?? "", null, 300)).toEqual(sorted.slice(10, 310))
    expect(inventory.range(`${sorted[599]}0`, null)).toEqual([])
    expect(lowerBound(["a", "c"], "b")).toBe(1)
  })
})

/** What both pool layers must answer the same way as the pool grows. */
const inventoryOf = (pool: TransactionPoolShape) =>
  Effect.gen(function* () {
    const all = txs(0, 40)
    yield* pool.addAll(all.slice(0, 25))
    expect(yield* pool.sortedHashes("", null)).toEqual(
      all
        .slice(0, 25)
        .map((tx) => tx.hash)
        .sort(),
    )
    yield* pool.addAll(all.slice(20))
    const sorted = all.map((tx) => tx.hash).sort()
    expect(yield* pool.sortedHashes("", null)).toEqual(sorted)
    expect(yield* pool.summary).toEqual({ count: 40, digest: poolDigest(sorted) })
    const [first, second] = all
    if (first === undefined || second === undefined) return expect.fail("two transactions")
    // Only what the pool holds, in the order asked for.
    expect(yield* pool.lookup([second.hash, "0".repeat(64), first.hash])).toEqual([second, first])
  })

describe("the pool's inventory", () => {
  it.effect("in memory: sorted hashes that follow the pool, and transactions looked up by hash", () =>
    Effect.flatMap(TransactionPoolMemory.make(), inventoryOf),
  )

  it.scoped("in a file: the same, read back from the rendered bytes", () =>
    Effect.gen(function* () {
      const dir = yield* tempFolder
      const file = join(dir, "transactions.json")
      const pool = yield* TransactionPoolFile.make(file)
      yield* inventoryOf(pool)
      yield* pool.flush
      // Read back at start, the pool has the same inventory.
      const again = yield* TransactionPoolFile.make(file)
      expect(yield* again.summary).toEqual(yield* pool.summary)
      expect(yield* again.sortedHashes("", null)).toEqual(yield* pool.sortedHashes("", null))
    }).pipe(Effect.provide(NodeContext.layer)),
  )
})
