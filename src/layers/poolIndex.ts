import { Effect } from "effect"
import { makeChanges } from "../domain/changes.js"
import { type PoolSummary, poolDigest } from "../domain/poolDigest.js"
import type { Transaction } from "../domain/Transaction.js"
import type { TransactionPoolShape } from "../services/TransactionPool.js"

/** The in-memory heart of every pool layer: transactions by hash, in arrival order. */
export const makePoolIndex = (initial: ReadonlyArray<Transaction>) =>
  Effect.sync(() => {
    const byHash = new Map<string, Transaction>()
    for (const tx of initial) if (!byHash.has(tx.hash)) byHash.set(tx.hash, tx)
    // Whoever follows `sizeChanges`, told in a plain loop: with no one following (a node at work), an
    // addition costs nothing more.
    const sizes = makeChanges(() => byHash.size)
    // A pool only grows: the same size is the same content, so its summary holds until then.
    let summary: PoolSummary | undefined
    const summaryNow = (): PoolSummary => {
      if (summary?.count !== byHash.size) summary = { count: byHash.size, digest: poolDigest(byHash.keys()) }
      return summary
    }

    const unsafeAddAll = (txs: ReadonlyArray<Transaction>): ReadonlyArray<Transaction> => {
      const added: Array<Transaction> = []
      for (const tx of txs) {
        if (byHash.has(tx.hash)) continue
        byHash.set(tx.hash, tx)
        added.push(tx)
      }
      if (added.length > 0) sizes.publish()
      return added
    }
    const addAll = (txs: ReadonlyArray<Transaction>) => Effect.sync(() => unsafeAddAll(txs))

    return {
      add: (tx: Transaction) => Effect.map(addAll([tx]), (added) => added.length > 0),
      addAll,
      unsafeAddAll,
      has: (hash: string) => Effect.sync(() => byHash.has(hash)),
      holds: (hash: string) => byHash.has(hash),
      list: Effect.sync(() => [...byHash.values()]),
      size: Effect.sync(() => byHash.size),
      summary: Effect.sync(summaryNow),
      sizeChanges: sizes.changes,
    } satisfies Omit<TransactionPoolShape, "flush" | "health" | "healthChanges">
  })
