import { Context, Data, type Effect, type Stream } from "effect"
import type { PoolSummary } from "../domain/poolDigest.js"
import type { Transaction } from "../domain/Transaction.js"

export class PoolError extends Data.TaggedError("PoolError")<{
  readonly reason: "Unreadable" | "Corrupt" | "TooLarge" | "WriteFailed"
  readonly file: string
  readonly message: string
}> {}

/** Whether the pool reaches its file: /healthz, /status and /metrics report it. */
export interface PoolHealth {
  /** True while writes fail: accepted transactions are held in memory and the write is retried. */
  readonly degraded: boolean
  /** Why, while degraded: the last write's error. */
  readonly reason?: string
  /** Writes that failed since start. */
  readonly writeFailures: number
  /** Transactions accepted and not yet in the file. */
  readonly unwritten: number
  /** Transactions refused since start: an address over MAX_ADDRESS_LENGTH, or the pool full. */
  readonly refused: { readonly tooLong: number; readonly full: number }
}

export const healthyPool: PoolHealth = {
  degraded: false,
  writeFailures: 0,
  unwritten: 0,
  refused: { tooLong: 0, full: 0 },
}

/** The node's transaction pool: each transaction at most once, by hash, in arrival order. */
export interface TransactionPoolShape {
  /** Adds `tx` if its hash is new; answers whether it was new. */
  readonly add: (tx: Transaction) => Effect.Effect<boolean>
  /** Adds those of `txs` whose hashes are new, in order; answers them. One step for a whole batch. */
  readonly addAll: (txs: ReadonlyArray<Transaction>) => Effect.Effect<ReadonlyArray<Transaction>>
  readonly has: (hash: string) => Effect.Effect<boolean>
  /**
   * Whether the pool holds `hash`, read synchronously from the in-memory index: for the per-frame
   * path, which checks every incoming TRANSACTION frame against it before decoding.
   */
  readonly holds: (hash: string) => boolean
  /** Every transaction, in arrival order. It parses the whole pool back: not for anything a peer can ask for. */
  readonly list: Effect.Effect<ReadonlyArray<Transaction>>
  /** The transactions of `hashes` the pool holds, in their order; each is read back on its own. */
  readonly lookup: (hashes: Iterable<string>) => Effect.Effect<ReadonlyArray<Transaction>>
  readonly size: Effect.Effect<number>
  /**
   * The pool's size and digest, for the catch-up sync and /status. Kept up to date as the pool grows
   * a bucket at a time (domain/poolDigest.ts), so asking never hashes the whole pool again.
   */
  readonly summary: Effect.Effect<PoolSummary>
  /**
   * The hashes from `from` up to, not including, `to` (`null`: the end), sorted; at most `limit`. For
   * the catch-up sync's pages: they are kept sorted as the pool grows, so asking sorts nothing.
   */
  readonly sortedHashes: (from: string, to: string | null, limit?: number) => Effect.Effect<ReadonlyArray<string>>
  /** The current size, then every change. */
  readonly sizeChanges: Stream.Stream<number>
  /** Waits until everything added so far is persisted. */
  readonly flush: Effect.Effect<void>
  /** Whether the pool reaches its file, now. */
  readonly health: Effect.Effect<PoolHealth>
  /** The health now, then each time the pool becomes degraded or recovers. */
  readonly healthChanges: Stream.Stream<PoolHealth>
}

export class TransactionPool extends Context.Tag("meshnode/TransactionPool")<TransactionPool, TransactionPoolShape>() {}
