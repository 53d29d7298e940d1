import { Clock, Effect } from "effect"
import type { Transaction } from "../domain/Transaction.js"
import { Limits } from "../services/Limits.js"

/**
 * Whether a transaction's timeStamp is within the tolerance of this node's clock; one that is too far
 * ahead is refused with a log line. Reads Effect's Clock, so TestClock decides what "now" is in tests.
 */
export const isTimelyTransaction = (tx: Transaction) =>
  Effect.gen(function* () {
    const limits = yield* Limits
    const now = yield* Clock.currentTimeMillis
    if (tx.timeStamp <= now + limits.futureToleranceMillis) return true
    yield* Effect.logWarning("transaction refused").pipe(
      Effect.annotateLogs({
        reason: "timestamp too far in the future",
        limit: `${limits.futureToleranceMillis} ms ahead of the node's clock`,
        timeStamp: tx.timeStamp,
        now,
      }),
    )
    return false
  })
