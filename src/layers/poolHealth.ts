import { Effect, Stream, SubscriptionRef } from "effect"
import type { PoolError, PoolHealth } from "../services/TransactionPool.js"

type WriteState = Omit<PoolHealth, "unwritten" | "refused">

/**
 * The pool's write health: degraded from a failed write until the next one that succeeds, logged
 * once each way (a full disk would otherwise log a line per retry). `unwritten` says how many
 * accepted transactions are not in the file yet. A write that succeeds while healthy costs one read
 * of a variable: the SubscriptionRef is touched only when the state changes or a write fails.
 */
export const makePoolHealth = (file: string, unwritten: () => number, refused: () => PoolHealth["refused"]) =>
  Effect.gen(function* () {
    let current: WriteState = { degraded: false, writeFailures: 0 }
    const state = yield* SubscriptionRef.make(current)
    const set = (next: WriteState) => {
      current = next
      return SubscriptionRef.set(state, next)
    }
    const withUnwritten = (write: WriteState): PoolHealth => ({ ...write, unwritten: unwritten(), refused: refused() })

    const failed = (error: PoolError) => {
      const wasDegraded = current.degraded
      return Effect.zipRight(
        set({ degraded: true, reason: error.message, writeFailures: current.writeFailures + 1 }),
        wasDegraded
          ? Effect.void
          : Effect.logError(
              "pool write failed; retrying until it succeeds, and keeping every accepted transaction in memory meanwhile: free space or fix the folder's permissions",
              error.message,
            ).pipe(Effect.annotateLogs({ file, unwritten: unwritten() })),
      )
    }
    const written = (count: number) =>
      current.degraded
        ? Effect.zipRight(
            set({ degraded: false, writeFailures: current.writeFailures }),
            Effect.logInfo("pool written again").pipe(Effect.annotateLogs({ file, count })),
          )
        : Effect.void

    return {
      failed,
      written,
      health: Effect.sync(() => withUnwritten(current)),
      healthChanges: Stream.map(state.changes, withUnwritten),
    }
  })
