import { Effect, PubSub, Runtime, Stream } from "effect"
import { type PoolSummary, poolDigest } from "../domain/poolDigest.js"
import { type Transaction, transactionTooLong } from "../domain/Transaction.js"
import { throttledWarning } from "../protocol/throttledWarning.js"
import { Limits } from "../services/Limits.js"
import type { TransactionPoolShape } from "../services/TransactionPool.js"

/** What a pool refused since start: over a field's length, or past its size. */
export interface PoolRefusals {
  readonly tooLong: number
  readonly full: number
}

/** Where a file pool keeps its bytes: each admitted transaction is appended at once, so a batch sees the size grow. */
export interface PoolFileBytes {
  readonly bytes: () => number
  readonly append: (tx: Transaction) => void
}

const noFile: PoolFileBytes = { bytes: () => 0, append: () => {} }

/** A refusal's log line at most once a minute (with the count meanwhile): a peer can repeat them at will. */
const refusalLogInterval = 60_000

/**
 * The in-memory heart of every pool layer: transactions by hash, in arrival order. New ones are
 * admitted only within the node's Limits: addresses no longer than `maxAddressLength`, and while the
 * pool holds fewer than `maxPoolTransactions` and its file (`file.bytes()`, for a file pool) is
 * under `maxPoolBytes`. Nothing stored is ever evicted.
 */
export const makePoolIndex = (initial: ReadonlyArray<Transaction>, file: PoolFileBytes = noFile) =>
  Effect.gen(function* () {
    const limits = yield* Limits
    // Refusals are logged from plain calls, with the layer's runtime (its logger and annotations).
    const runSync = Runtime.runSync(yield* Effect.runtime<never>())
    const warnTooLong = throttledWarning("transaction refused", refusalLogInterval)
    const warnFull = throttledWarning("pool full: transactions refused", refusalLogInterval)
    const refusals = { tooLong: 0, full: 0 }
    const byHash = new Map<string, Transaction>()
    for (const tx of initial) if (!byHash.has(tx.hash)) byHash.set(tx.hash, tx)
    // The size after each addition, for whoever follows `sizeChanges`.
    const sizes = yield* PubSub.sliding<number>(1)
    // A pool only grows: the same size is the same content, so its summary holds until then.
    let summary: PoolSummary | undefined
    const summaryNow = (): PoolSummary => {
      if (summary?.count !== byHash.size) summary = { count: byHash.size, digest: poolDigest(byHash.keys()) }
      return summary
    }

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
      if (byHash.size >= limits.maxPoolTransactions || file.bytes() >= limits.maxPoolBytes) {
        refusals.full++
        runSync(
          warnFull({
            limit: `${limits.maxPoolTransactions} transactions (MAX_POOL_TRANSACTIONS) or ${limits.maxPoolBytes} bytes (MAX_POOL_BYTES)`,
            pool: byHash.size,
          }),
        )
        return false
      }
      return true
    }

    const addAll = (txs: ReadonlyArray<Transaction>) =>
      Effect.sync(() => {
        const added: Array<Transaction> = []
        for (const tx of txs) {
          if (byHash.has(tx.hash) || !admits(tx)) continue
          byHash.set(tx.hash, tx)
          file.append(tx)
          added.push(tx)
        }
        return added as ReadonlyArray<Transaction>
      }).pipe(Effect.tap((added) => (added.length > 0 ? PubSub.publish(sizes, byHash.size) : Effect.void)))

    return {
      add: (tx: Transaction) => Effect.map(addAll([tx]), (added) => added.length > 0),
      addAll,
      has: (hash: string) => Effect.sync(() => byHash.has(hash)),
      holds: (hash: string) => byHash.has(hash),
      list: Effect.sync(() => [...byHash.values()]),
      size: Effect.sync(() => byHash.size),
      summary: Effect.sync(summaryNow),
      // Subscribed before the current size is read, so no addition falls between the two.
      sizeChanges: Stream.unwrapScoped(
        Effect.map(PubSub.subscribe(sizes), (changes) =>
          Stream.concat(
            Stream.sync(() => byHash.size),
            Stream.fromQueue(changes),
          ),
        ),
      ),
      refusals: (): PoolRefusals => ({ ...refusals }),
    } satisfies Omit<TransactionPoolShape, "flush" | "health" | "healthChanges"> & {
      refusals: () => PoolRefusals
    }
  })
