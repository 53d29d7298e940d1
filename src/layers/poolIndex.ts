import { Effect, SubscriptionRef } from "effect"
import type { Transaction } from "../domain/Transaction.js"
import type { TransactionPoolShape } from "../services/TransactionPool.js"

/** The in-memory heart of every pool layer: transactions by hash, in arrival order. */
export const makePoolIndex = (initial: ReadonlyArray<Transaction>) =>
  Effect.gen(function* () {
    const byHash = new Map<string, Transaction>()
    for (const tx of initial) if (!byHash.has(tx.hash)) byHash.set(tx.hash, tx)
    const size = yield* SubscriptionRef.make(byHash.size)

    const addAll = (txs: ReadonlyArray<Transaction>) =>
      Effect.suspend(() => {
        const added: Array<Transaction> = []
        for (const tx of txs) {
          if (byHash.has(tx.hash)) continue
          byHash.set(tx.hash, tx)
          added.push(tx)
        }
        // Subscribers hear once per batch.
        return added.length === 0 ? Effect.succeed(added) : Effect.as(SubscriptionRef.set(size, byHash.size), added)
      })

    return {
      add: (tx: Transaction) => Effect.map(addAll([tx]), (added) => added.length > 0),
      addAll,
      has: (hash: string) => Effect.sync(() => byHash.has(hash)),
      holds: (hash: string) => byHash.has(hash),
      list: Effect.sync(() => [...byHash.values()]),
      size: SubscriptionRef.get(size),
      sizeChanges: size.changes,
    } satisfies Omit<TransactionPoolShape, "flush">
  })
