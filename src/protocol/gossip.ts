import { Effect, LogLevel, Option, Runtime } from "effect"
import { isLogged } from "../domain/isLogged.js"
import { encodeTransactionFrame, type TransactionMessage } from "../domain/Message.js"
import { traceparentOf } from "../domain/TraceContext.js"
import type { Transaction } from "../domain/Transaction.js"
import { Limits } from "../services/Limits.js"
import { NodeStats } from "../services/NodeStats.js"
import { TracePropagation } from "../services/TracePropagation.js"
import { TransactionPool } from "../services/TransactionPool.js"
import type { ConnectionLink } from "./links.js"
import { continueTrace } from "./traceContext.js"

/**
 * The gossip of TRANSACTIONs received on a node's connections, with its services looked up once per
 * node (it runs for every frame).
 */
export const makeGossip = Effect.gen(function* () {
  const pool = yield* TransactionPool
  const stats = yield* NodeStats
  const limits = yield* Limits
  const propagate = yield* TracePropagation

  /** Whether `message`'s timeStamp is within the tolerance of `now`. */
  const isTimely = (message: TransactionMessage, now: number) =>
    message.data.timeStamp <= now + limits.futureToleranceMillis
  const infoLogged = yield* isLogged(LogLevel.Info)

  /** The messages whose timeStamp is within the tolerance of `now`; one too far ahead is refused with a line. */
  const timely = (messages: ReadonlyArray<TransactionMessage>, now: number) => {
    const accepted = messages.filter((message) => isTimely(message, now))
    if (accepted.length === messages.length) return Effect.succeed(messages)
    const refused = messages.filter((message) => !isTimely(message, now))
    return Effect.as(
      Effect.forEach(refused, (message) =>
        Effect.logWarning("transaction refused").pipe(
          Effect.annotateLogs({
            type: "TRANSACTION",
            reason: "timestamp too far in the future",
            limit: `${limits.futureToleranceMillis} ms ahead of the node's clock`,
            hash: message.data.hash,
            timeStamp: message.data.timeStamp,
            now,
          }),
        ),
      ),
      accepted,
    )
  }

  /**
   * TRANSACTIONs received on the connection, in order, at time `now` (already decoded and verified by
   * their Schema): store the new ones and relay each to our peers (all of them, or those the sender
   * does not reach itself: links.ts). A transaction already in the pool is neither stored nor sent
   * again, which is what stops the gossip from looping. One timestamped too far in the future is refused.
   *
   * A burst of frames arrives as one batch: the pool takes it in one step and the per-transaction
   * work is plain code, with a log line per transaction only when its level is on. With trace
   * propagation on, each transaction gets its own span, continuing the sender's trace, and carries it on.
   */
  const onTransactions = (messages: ReadonlyArray<TransactionMessage>, relay: ConnectionLink["relay"], now: number) =>
    Effect.gen(function* () {
      const accepted = yield* timely(messages, now)
      const added = yield* pool.addAll(accepted.map((message) => message.data))
      yield* stats.increment("transactionsDuplicate", accepted.length - added.length)
      if (added.length === 0) return
      yield* stats.transactionsAccepted(added)
      if (propagate) {
        const sent = yield* Effect.forEach(freshMessages(accepted, added), (message) => forwardTraced(message, relay))
        return yield* stats.messagesSent("TRANSACTION", sum(sent))
      }
      let sent = 0
      for (const tx of added) {
        if (infoLogged) {
          yield* Effect.logInfo("transaction accepted").pipe(
            Effect.annotateLogs({ type: "TRANSACTION", hash: tx.hash }),
          )
        }
        sent += yield* relay(encodeTransactionFrame(tx))
      }
      yield* stats.messagesSent("TRANSACTION", sent)
    })

  /**
   * `onTransactions` for one timely transaction, as a plain call, for the per-frame fast path
   * (frames.ts), of the connection whose fiber's runtime is `runtime`. Not with trace propagation
   * (`fastPath`): each transaction then has a span of its own.
   */
  const acceptNowOn = (runtime: Runtime.Runtime<never>) => {
    // The log line is written with the connection's own runtime, so it carries the node and peer
    // annotations a line of the connection's fiber would.
    const logAcceptedNow = infoLogged
      ? (hash: string) =>
          Runtime.runSync(runtime)(
            Effect.logInfo("transaction accepted").pipe(Effect.annotateLogs({ type: "TRANSACTION", hash })),
          )
      : undefined
    return (message: TransactionMessage, relayNow: ConnectionLink["relayNow"], now: number) => {
      const added = pool.unsafeAddAll([message.data])
      if (added.length === 0) return stats.unsafe.increment("transactionsDuplicate")
      stats.unsafe.transactionsAccepted(added, now)
      logAcceptedNow?.(message.data.hash)
      stats.unsafe.messagesSent("TRANSACTION", relayNow(encodeTransactionFrame(message.data)))
    }
  }

  const fastPath = !propagate

  return { onTransactions, isTimely, acceptNowOn, fastPath }
})

export type Gossip = Effect.Effect.Success<typeof makeGossip>

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
    Effect.annotateLogs({ type: "TRANSACTION", hash: message.data.hash }),
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

const sum = (values: ReadonlyArray<number>) => values.reduce((total, value) => total + value, 0)
