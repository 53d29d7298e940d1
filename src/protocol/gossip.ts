import { Effect } from "effect"
import { encodeFrame, type TransactionMessage } from "../domain/Message.js"
import { NodeStats } from "../services/NodeStats.js"
import { TransactionPool } from "../services/TransactionPool.js"
import type { ConnectionLink } from "./links.js"
import { continueTrace, withOwnTraceContext } from "./traceContext.js"
import { isTimelyTransaction } from "./transactionTime.js"

/**
 * A TRANSACTION received (already decoded and verified by its Schema): store it if new and relay it
 * to our peers (all of them, or those the sender does not reach itself: links.ts). A transaction
 * already in the pool is neither stored nor sent again, which is what stops the gossip from looping.
 * One timestamped too far in the future is refused.
 */
export const onTransaction = (message: TransactionMessage, relay: ConnectionLink["relay"]) =>
  Effect.gen(function* () {
    const pool = yield* TransactionPool
    const stats = yield* NodeStats
    if (!(yield* isTimelyTransaction(message.data))) return
    const isNew = yield* pool.add(message.data)
    if (!isNew) {
      yield* stats.increment("transactionsDuplicate")
      return yield* Effect.logDebug("transaction duplicate")
    }
    yield* stats.transactionAccepted(message.data)
    yield* Effect.logInfo("transaction accepted")
    const sent = yield* relay(encodeFrame(yield* withOwnTraceContext(message)))
    yield* stats.messagesSent("TRANSACTION", sent)
    yield* Effect.logDebug("transaction forwarded").pipe(Effect.annotateLogs({ peers: sent }))
  }).pipe(
    Effect.annotateLogs({ hash: message.data.hash }),
    Effect.withSpan("Gossip.transaction", { attributes: { hash: message.data.hash }, ...continueTrace(message) }),
  )
