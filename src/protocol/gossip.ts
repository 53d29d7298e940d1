import { Effect, Option, type Tracer } from "effect"
import { encodeFrame, type TransactionMessage } from "../domain/Message.js"
import { traceparentOf } from "../domain/TraceContext.js"
import type { Transaction } from "../domain/Transaction.js"
import { triageTransactions } from "../domain/transactionTriage.js"
import { Limits } from "../services/Limits.js"
import { NodeStats } from "../services/NodeStats.js"
import { TracePropagation } from "../services/TracePropagation.js"
import { TransactionPool } from "../services/TransactionPool.js"
import type { ConnectionLink } from "./links.js"
import { continueTrace } from "./traceContext.js"

/** One transaction stamped more than `toleranceMillis` ahead of `now`: refused with a line. */
const refuseTooFarAhead = (message: TransactionMessage, now: number, toleranceMillis: number) =>
  Effect.logWarning("transaction refused").pipe(
    Effect.annotateLogs({
      type: "TRANSACTION",
      reason: "timestamp too far in the future",
      limit: `${toleranceMillis} ms ahead of the node's clock`,
      hash: message.data.hash,
      timeStamp: message.data.timeStamp,
      now,
    }),
  )

/** The debug line of an accepted transaction, built only when debug lines are on (it runs per transaction). */
const logAccepted = (message: TransactionMessage) =>
  Effect.logDebug("transaction accepted").pipe(
    Effect.annotateLogs({ type: "TRANSACTION", hash: message.data.hash }),
    Effect.whenLogLevel("Debug"),
  )

/** Sends a new transaction on: our nodes get `span` as its parent, when there is one; a spec peer the spec's fields only. */
const send = (message: TransactionMessage, relay: ConnectionLink["relay"], span: Tracer.AnySpan | undefined) => {
  const forSpec = encodeFrame({ type: "TRANSACTION", data: message.data })
  const forOurs =
    span === undefined
      ? forSpec
      : encodeFrame({ type: "TRANSACTION", data: message.data, traceparent: traceparentOf(span) })
  return Effect.zipRight(logAccepted(message), relay({ forOurs, forSpec }))
}

/**
 * One new transaction, sent on. When this node exports traces (`propagate`), that happens in a span
 * of its own that continues the sender's trace and is named in the frame our nodes get; without a
 * tracer a span would show nowhere, so none is made (it costs more than the rest of the relay).
 */
const forward = (message: TransactionMessage, relay: ConnectionLink["relay"], propagate: boolean) =>
  propagate
    ? Effect.currentSpan.pipe(
        Effect.option,
        Effect.flatMap((span) => send(message, relay, Option.getOrUndefined(span))),
        Effect.withSpan("Gossip.transaction", {
          attributes: { hash: message.data.hash },
          ...continueTrace(message),
          captureStackTrace: false,
        }),
      )
    : send(message, relay, undefined)

/**
 * The gossip of TRANSACTIONs received on a node's connections, with its services looked up once per
 * node (it runs for every run of frames).
 */
export const makeGossip = Effect.gen(function* () {
  const pool = yield* TransactionPool
  const stats = yield* NodeStats
  const limits = yield* Limits
  const propagate = yield* TracePropagation

  /**
   * TRANSACTIONs received on one connection, in order, at time `now` (decoded and verified by their
   * Schema): copies of what the pool holds are dropped, which is what stops the gossip from looping;
   * one stamped too far ahead, or with a too long address, is refused; the new ones are stored in one step and relayed to our
   * peers (all of them, or those the sender does not reach itself: links.ts). Answers how many were
   * refused (a pool that is full refuses too, but that is not the sender's doing).
   */
  const onTransactions = (messages: ReadonlyArray<TransactionMessage>, relay: ConnectionLink["relay"], now: number) =>
    Effect.gen(function* () {
      const triageLimits = { toleranceMillis: limits.futureToleranceMillis, maxAddressLength: limits.maxAddressLength }
      const { fresh, copies, tooFarAhead, tooLong } = triageTransactions(messages, now, triageLimits, pool.holds)
      if (tooFarAhead.length > 0) {
        yield* Effect.forEach(tooFarAhead, (message) => refuseTooFarAhead(message, now, limits.futureToleranceMillis), {
          discard: true,
        })
      }
      // Those with a too long address go to the pool too: its admission refuses them, with one
      // throttled line and its counter (poolIndex.ts), so they are not counted as duplicates here.
      const offered = [...fresh, ...tooLong]
      const added = offered.length === 0 ? [] : yield* pool.addAll(offered.map((message) => message.data))
      const duplicates = copies + fresh.length - added.length
      if (duplicates > 0) yield* stats.increment("transactionsDuplicate", duplicates)
      const refused = tooFarAhead.length + tooLong.length
      if (added.length === 0) return refused
      yield* stats.transactionsAccepted(added, now)
      const sent = yield* Effect.forEach(freshMessages(fresh, added), (message) => forward(message, relay, propagate))
      yield* stats.messagesSent(
        "TRANSACTION",
        sent.reduce((total, count) => total + count, 0),
      )
      return refused
    })

  return { onTransactions }
})

export type Gossip = Effect.Effect.Success<typeof makeGossip>

/** The messages whose transactions the pool took (`added`, in order, a subsequence of theirs). */
const freshMessages = (messages: ReadonlyArray<TransactionMessage>, added: ReadonlyArray<Transaction>) => {
  const fresh: Array<TransactionMessage> = []
  for (const message of messages) {
    if (message.data === added[fresh.length]) fresh.push(message)
  }
  return fresh
}
