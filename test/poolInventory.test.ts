import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as NodeContext from "@effect/platform-node/NodeContext"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { hashesInRange, lowerBound, mergeSorted, poolDigest } from "../src/domain/poolDigest.js"
import { makeTransaction, type Transaction } from "../src/domain/Transaction.js"
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

describe("sorted hashes", () => {
  it("merging new hashes into sorted ones gives them all sorted, duplicates of order kept", () => {
    expect(mergeSorted([], [])).toEqual([])
    expect(mergeSorted(["b", "d"], [])).toEqual(["b", "d"])
    expect(mergeSorted([], ["c", "a"])).toEqual(["a", "c"])
    expect(mergeSorted(["b", "d", "f"], ["g", "a", "e", "c"])).toEqual(["a", "b", "c", "d", "e", "f", "g"])
  })

  it("a range runs from its first hash up to, not including, its end", () => {
    const sorted = ["a", "c", "e", "g"]
    expect(lowerBound(sorted, "")).toBe(0)
    expect(lowerBound(sorted, "c")).toBe(1)
    expect(lowerBound(sorted, "d")).toBe(2)
    expect(lowerBound(sorted, "z")).toBe(4)
    expect(hashesInRange(sorted, "b", "g")).toEqual(["c", "e"])
    expect(hashesInRange(sorted, "c", null)).toEqual(["c", "e", "g"])
    expect(hashesInRange(sorted, "h", null)).toEqual([])
  })
})

/** What both pool layers must answer the same way as the pool grows. */
const inventoryOf = (pool: TransactionPoolShape) =>
  Effect.gen(function* () {
    const all = txs(0, 40)
    yield* pool.addAll(all.slice(0, 25))
    expect(yield* pool.sortedHashes).toEqual(
      all
        .slice(0, 25)
        .map((tx) => tx.hash)
        .sort(),
    )
    yield* pool.addAll(all.slice(20))
    const sorted = all.map((tx) => tx.hash).sort()
    expect(yield* pool.sortedHashes).toEqual(sorted)
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
      yield* inventoryOf(yield* TransactionPoolFile.make(join(dir, "transactions.json")))
    }).pipe(Effect.provide(NodeContext.layer)),
  )
})
