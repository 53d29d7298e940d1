import { Effect, FiberRef, LogLevel, Option } from "effect"
import { encodeTransactionFrame, type TransactionMessage } from "../domain/Message.js"
import { traceparentOf } from "../domain/TraceContext.js"
import type { Transaction } from "../domain/Transaction.js"
import { NodeStats } from "../services/NodeStats.js"
import { TracePropagation } from "../services/TracePropagation.js"
import { TransactionPool } from "../services/TransactionPool.js"
import type { ConnectionLink } from "./links.js"
import { continueTrace } from "./traceContext.js"
import { timelyTransactions } from "./transactionTime.js"

/**
 * TRANSACTIONs received on one connection, in order (already decoded and verified by their Schema):
 * store the new ones and relay each to our peers (all of them, or those the sender does not reach
 * itself: links.ts). A transaction already in the pool is neither stored nor sent again, which is
 * what stops the gossip from looping. One timestamped too far in the future is refused.
 *
 * A burst of frames arrives as one batch: the pool takes it in one step and the per-transaction work
 * is plain code, with a log line per transaction only when its level is on. With trace propagation
 * on, each transaction gets its own span, continuing the sender's trace, and carries it onwards.
 */
export const onTransactions = (messages: ReadonlyArray<TransactionMessage>, relay: ConnectionLink["relay"]) =>
  Effect.gen(function* () {
    const pool = yield* TransactionPool
    const stats = yield* NodeStats
    const timely = yield* timelyTransactions(messages)
    const added = yield* pool.addAll(timely.map((message) => message.data))
    yield* stats.increment("transactionsDuplicate", timely.length - added.length)
    if (added.length === 0) return yield* Effect.logDebug("transactions duplicate").pipe(logCount(timely.length))
    yield* stats.transactionsAccepted(added)
    if (yield* TracePropagation) {
      const sent = yield* Effect.forEach(freshMessages(timely, added), (message) => forwardTraced(message, relay))
      return yield* stats.messagesSent("TRANSACTION", sum(sent))
    }
    const logAccepted = yield* isLogged(LogLevel.Info)
    let sent = 0
    for (const tx of added) {
      if (logAccepted) yield* Effect.logInfo("transaction accepted").pipe(Effect.annotateLogs({ hash: tx.hash }))
      sent += yield* relay(encodeTransactionFrame(tx))
    }
    yield* stats.messagesSent("TRANSACTION", sent)
    if (added.length < timely.length)
      yield* Effect.logDebug("transactions duplicate").pipe(logCount(timely.length - added.length))
  })

/** One transaction in a span of its own; the frame relayed names that span as the parent. */
const forwardTraced = (message: TransactionMessage, relay: ConnectionLink["relay"]) =>
  Effect.gen(function* () {
    yield* Effect.logInfo("transaction accepted")
    const span = yield* Effect.option(Effect.currentSpan)
    const sent = yield* relay(
      encodeTransactionFrame(message.data, Option.getOrUndefined(Option.map(span, traceparentOf))),
    )
    yield* Effect.logDebug("transaction forwarded").pipe(Effect.annotateLogs({ peers: sent }))
    return sent
  }).pipe(
    Effect.annotateLogs({ hash: message.data.hash }),
    Effect.withSpan("Gossip.transaction", {
      attributes: { hash: message.data.hash },
      ...continueTrace(message),
      captureStackTrace: false,
    }),
  )

/** The messages whose transactions the pool took (`added`, in order, a subsequence of theirs). */
const freshMessages = (messages: ReadonlyArray<TransactionMessage>, added: ReadonlyArray<Transaction>) => {
  const fresh: Array<TransactionMessage> = []
  for (const message of messages) {
    if (message.data === added[fresh.length]) fresh.push(message)
  }
  return fresh
}

/** Whether a line at `level` would be logged here: the per-transaction lines are built only then. */
const isLogged = (level: LogLevel.LogLevel) =>
  Effect.map(FiberRef.get(FiberRef.currentMinimumLogLevel), (minimum) => LogLevel.greaterThanEqual(level, minimum))

const logCount = (count: number) => Effect.annotateLogs({ count })

const sum = (values: ReadonlyArray<number>) => values.reduce((total, value) => total + value, 0)
