import { Effect, SubscriptionRef } from "effect"
import type { Transaction } from "../domain/Transaction.js"
import type { TransactionPoolShape } from "../services/TransactionPool.js"

/** The in-memory heart of every pool layer: transactions by hash, in arrival order. */
export const makePoolIndex = (initial: ReadonlyArray<Transaction>) =>
  Effect.gen(function* () {
    const byHash = new Map<string, Transaction>()
    for (const tx of initial) if (!byHash.has(tx.hash)) byHash.set(tx.hash, tx)
    const size = yield* SubscriptionRef.make(byHash.size)

    const add = (tx: Transaction) =>
      Effect.suspend(() => {
        if (byHash.has(tx.hash)) return Effect.succeed(false)
        byHash.set(tx.hash, tx)
        return Effect.as(SubscriptionRef.set(size, byHash.size), true)
      })

    return {
      add,
      has: (hash: string) => Effect.sync(() => byHash.has(hash)),
      list: Effect.sync(() => [...byHash.values()]),
      size: SubscriptionRef.get(size),
      sizeChanges: size.changes,
    } satisfies Omit<TransactionPoolShape, "flush">
  })
