import { Effect, PubSub, Runtime, Stream } from "effect"
import { type Transaction, transactionTooLong } from "../domain/Transaction.js"
import { throttledWarning } from "../protocol/throttledWarning.js"
import { Limits } from "../services/Limits.js"
import type { TransactionPoolShape } from "../services/TransactionPool.js"
import { makePoolInventory } from "./poolInventory.js"
import type { PoolStore } from "./poolStore.js"

/** What a pool refused since start: over a field's length, or past its size. */
export interface PoolRefusals {
  readonly tooLong: number
  readonly full: number
}

/** A refusal's log line at most once a minute (with the count meanwhile): a peer can repeat them at will. */
const refusalLogInterval = 60_000

/**
 * Which new transactions a pool takes: those within the node's Limits. Each refusal is counted and
 * logged, at most once a minute per kind.
 */
const makePoolAdmission = (store: PoolStore) =>
  Effect.gen(function* () {
    const limits = yield* Limits
    // Refusals are logged from plain calls, with the layer's runtime (its logger and annotations).
    const runSync = Runtime.runSync(yield* Effect.runtime<never>())
    const warnTooLong = throttledWarning("transaction refused", refusalLogInterval)
    const warnFull = throttledWarning("pool full: transactions refused", refusalLogInterval)
    const refusals = { tooLong: 0, full: 0 }

    const admits = (tx: Transaction): boolean => {
      if (transactionTooLong(tx, limits.maxAddressLength) !== undefined) {
        refusals.tooLong++
        runSync(
          warnTooLong({
            reason: "address too long",
            limit: `${limits.maxAddressLength} characters (MAX_ADDRESS_LENGTH)`,
            hash: tx.hash,
          }),
        )
        return false
      }
      if (store.size() >= limits.maxPoolTransactions || store.bytes() >= limits.maxPoolBytes) {
        refusals.full++
        runSync(
          warnFull({
            limit: `${limits.maxPoolTransactions} transactions (MAX_POOL_TRANSACTIONS) or ${limits.maxPoolBytes} bytes (MAX_POOL_BYTES)`,
            pool: store.size(),
          }),
        )
        return false
      }
      return true
    }

    return { admits, refusals: (): PoolRefusals => ({ ...refusals }) }
  })

/** The transactions of `hashes` the store holds, in their order. */
const lookupIn = (store: PoolStore, hashes: Iterable<string>): ReadonlyArray<Transaction> => {
  const found: Array<Transaction> = []
  for (const hash of hashes) {
    const tx = store.get(hash)
    if (tx !== undefined) found.push(tx)
  }
  return found
}

/**
 * The in-memory heart of every pool layer: transactions by hash, in arrival order. New ones are
 * admitted only within the node's Limits: addresses no longer than `maxAddressLength`, and while the
 * pool holds fewer than `maxPoolTransactions` and its file (`store.bytes()`, for a file pool) is
 * under `maxPoolBytes`. Nothing stored is ever evicted. The transactions themselves are the store's.
 */
export const makePoolIndex = (store: PoolStore) =>
  Effect.gen(function* () {
    const { admits, refusals } = yield* makePoolAdmission(store)
    // The size after each addition, for whoever follows `sizeChanges`.
    const sizes = yield* PubSub.sliding<number>(1)
    // The hashes sorted for the catch-up sync, and the pool's digest (poolInventory.ts).
    const inventory = makePoolInventory(store.hashes())

    const addAll = (txs: ReadonlyArray<Transaction>) =>
      Effect.sync(() => {
        const added: Array<Transaction> = []
        for (const tx of txs) {
          if (store.has(tx.hash) || !admits(tx)) continue
          store.append(tx)
          inventory.add(tx.hash)
          added.push(tx)
        }
        return added as ReadonlyArray<Transaction>
      }).pipe(Effect.tap((added) => (added.length > 0 ? PubSub.publish(sizes, store.size()) : Effect.void)))

    return {
      add: (tx: Transaction) => Effect.map(addAll([tx]), (added) => added.length > 0),
      addAll,
      has: (hash: string) => Effect.sync(() => store.has(hash)),
      holds: (hash: string) => store.has(hash),
      list: Effect.sync(store.list),
      size: Effect.sync(() => store.size()),
      summary: Effect.sync(inventory.summary),
      sortedHashes: (from: string, to: string | null, limit?: number) =>
        Effect.sync(() => inventory.range(from, to, limit)),
      lookup: (hashes: Iterable<string>) => Effect.sync(() => lookupIn(store, hashes)),
      // Subscribed before the current size is read, so no addition falls between the two.
      sizeChanges: Stream.unwrapScoped(
        Effect.map(PubSub.subscribe(sizes), (changes) =>
          Stream.concat(
            Stream.sync(() => store.size()),
            Stream.fromQueue(changes),
          ),
        ),
      ),
      refusals,
    } satisfies Omit<TransactionPoolShape, "flush" | "health" | "healthChanges"> & {
      refusals: () => PoolRefusals
    }
  })
