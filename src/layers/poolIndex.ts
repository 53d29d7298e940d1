import { Effect, Queue, Stream } from "effect"
import type { Transaction } from "../domain/Transaction.js"
import type { TransactionPoolShape } from "../services/TransactionPool.js"

/** The in-memory heart of every pool layer: transactions by hash, in arrival order. */
export const makePoolIndex = (initial: ReadonlyArray<Transaction>) =>
  Effect.sync(() => {
    const byHash = new Map<string, Transaction>()
    for (const tx of initial) if (!byHash.has(tx.hash)) byHash.set(tx.hash, tx)
    // Whoever follows `sizeChanges`. Told in a plain loop: with no one following (a node at work),
    // an addition costs nothing more.
    const followers = new Set<Queue.Queue<number>>()

    const unsafeAddAll = (txs: ReadonlyArray<Transaction>): ReadonlyArray<Transaction> => {
      const added: Array<Transaction> = []
      for (const tx of txs) {
        if (byHash.has(tx.hash)) continue
        byHash.set(tx.hash, tx)
        added.push(tx)
      }
      if (added.length > 0) for (const follower of followers) follower.unsafeOffer(byHash.size)
      return added
    }
    const addAll = (txs: ReadonlyArray<Transaction>) => Effect.sync(() => unsafeAddAll(txs))

    const sizeChanges = Stream.unwrapScoped(
      Effect.gen(function* () {
        const changes = yield* Effect.acquireRelease(Queue.unbounded<number>(), (queue) =>
          Effect.zipRight(
            Effect.sync(() => followers.delete(queue)),
            Queue.shutdown(queue),
          ),
        )
        // Following and reading the size in one step: no change falls between them.
        const current = yield* Effect.sync(() => {
          followers.add(changes)
          return byHash.size
        })
        return Stream.concat(Stream.succeed(current), Stream.fromQueue(changes))
      }),
    )

    return {
      add: (tx: Transaction) => Effect.map(addAll([tx]), (added) => added.length > 0),
      addAll,
      unsafeAddAll,
      has: (hash: string) => Effect.sync(() => byHash.has(hash)),
      holds: (hash: string) => byHash.has(hash),
      list: Effect.sync(() => [...byHash.values()]),
      size: Effect.sync(() => byHash.size),
      sizeChanges,
    } satisfies Omit<TransactionPoolShape, "flush">
  })
