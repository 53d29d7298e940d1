import { Clock, Effect } from "effect"
import type { TransactionMessage } from "../domain/Message.js"
import { Limits } from "../services/Limits.js"

/**
 * The messages whose transaction's timeStamp is within the tolerance of this node's clock; each one
 * too far ahead is refused with a log line. Reads Effect's Clock, so TestClock decides what "now" is
 * in tests.
 */
export const timelyTransactions = (messages: ReadonlyArray<TransactionMessage>) =>
  Effect.gen(function* () {
    const limits = yield* Limits
    const now = yield* Clock.currentTimeMillis
    const latest = now + limits.futureToleranceMillis
    const timely = messages.filter((message) => message.data.timeStamp <= latest)
    if (timely.length === messages.length) return messages
    for (const message of messages) {
      if (message.data.timeStamp <= latest) continue
      yield* Effect.logWarning("transaction refused").pipe(
        Effect.annotateLogs({
          reason: "timestamp too far in the future",
          limit: `${limits.futureToleranceMillis} ms ahead of the node's clock`,
          hash: message.data.hash,
          timeStamp: message.data.timeStamp,
          now,
        }),
      )
    }
    return timely
  })
