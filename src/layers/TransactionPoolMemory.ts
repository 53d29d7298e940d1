import { Effect, Layer, Stream } from "effect"
import type { Transaction } from "../domain/Transaction.js"
import { healthyPool, TransactionPool } from "../services/TransactionPool.js"
import { makePoolIndex } from "./poolIndex.js"
import { makeObjectStore } from "./poolStore.js"

const storeOf = (initial: ReadonlyArray<Transaction>) => {
  const store = makeObjectStore()
  for (const tx of initial) if (!store.has(tx.hash)) store.append(tx)
  return store
}

/** A pool that lives only in memory, for tests: it has no file, so MAX_POOL_BYTES does not apply. */
export const make = (initial: ReadonlyArray<Transaction> = []) =>
  Effect.map(makePoolIndex(storeOf(initial)), ({ refusals, ...index }) =>
    TransactionPool.of({
      ...index,
      flush: Effect.void,
      health: Effect.sync(() => ({ ...healthyPool, refused: refusals() })),
      healthChanges: Stream.make(healthyPool),
    }),
  )

export const layer = (initial: ReadonlyArray<Transaction> = []) => Layer.effect(TransactionPool, make(initial))
