import { Effect, Layer } from "effect"
import type { Transaction } from "../domain/Transaction.js"
import { TransactionPool } from "../services/TransactionPool.js"
import { makePoolIndex } from "./poolIndex.js"

/** A pool that lives only in memory, for tests. */
export const make = (initial: ReadonlyArray<Transaction> = []) =>
  Effect.map(makePoolIndex(initial), (index) => TransactionPool.of({ ...index, flush: Effect.void }))

export const layer = (initial: ReadonlyArray<Transaction> = []) => Layer.effect(TransactionPool, make(initial))
