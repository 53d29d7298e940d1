import { Clock, Effect, Layer } from "effect"
import type { Transaction } from "../domain/Transaction.js"
import { makeNodeMetrics } from "../http/metrics.js"
import {
  type Counter,
  NodeStats,
  type NodeStatsSnapshot,
  type RecentTransaction,
  zeroCounters,
} from "../services/NodeStats.js"

/** How many accepted transactions /status and the dashboard show. */
const RECENT_TRANSACTIONS = 20

/**
 * NodeStats in plain counters owned by this layer: one set per node, even when several nodes share a
 * process. Every update is one synchronous step (they run on the hot path of every frame); readers
 * get a copy.
 */
export const make = Effect.gen(function* () {
  const startedAt = yield* Clock.currentTimeMillis
  const counters: Record<Counter, number> = { ...zeroCounters }
  const messagesReceived: Record<string, number> = {}
  const messagesSent: Record<string, number> = {}
  let recent: ReadonlyArray<RecentTransaction> = []
  const framesRefused: Record<string, number> = {}
  const metrics = makeNodeMetrics()

  const accept = (txs: ReadonlyArray<Transaction>, receivedAt: number) => {
    counters.transactionsAccepted += txs.length
    for (const tx of txs) metrics.observePropagation(tx.timeStamp, receivedAt)
    const newest = txs.slice(-RECENT_TRANSACTIONS).map((tx): RecentTransaction => ({ ...tx, receivedAt }))
    recent = [...recent, ...newest].slice(-RECENT_TRANSACTIONS)
  }

  /** Refusals by reason; those counted without one (`increment("framesRefused")`) as "other". */
  const byReason = (): Record<string, number> => {
    const named = Object.values(framesRefused).reduce((sum, count) => sum + count, 0)
    const other = counters.framesRefused - named
    return other > 0 ? { ...framesRefused, other } : { ...framesRefused }
  }

  return NodeStats.of({
    increment: (counter, by = 1) =>
      Effect.sync(() => {
        counters[counter] += by
      }),
    messageReceived: (type, count = 1) =>
      Effect.sync(() => {
        messagesReceived[type] = (messagesReceived[type] ?? 0) + count
      }),
    messagesSent: (type, count) =>
      count === 0
        ? Effect.void
        : Effect.sync(() => {
            messagesSent[type] = (messagesSent[type] ?? 0) + count
          }),
    transactionsAccepted: (txs, receivedAt) => Effect.sync(() => accept(txs, receivedAt)),
    frameRefused: (reason) =>
      Effect.sync(() => {
        counters.framesRefused++
        framesRefused[reason] = (framesRefused[reason] ?? 0) + 1
      }),
    poolWritten: (millis) => Effect.sync(() => metrics.observePoolWrite(millis)),
    renderMetrics: (status) => Effect.promise(() => metrics.render({ status, framesRefused: byReason() })),
    snapshot: Effect.sync(
      (): NodeStatsSnapshot => ({
        startedAt,
        counters: { ...counters },
        messagesReceived: { ...messagesReceived },
        messagesSent: { ...messagesSent },
        recent,
      }),
    ),
  })
})

export const layer = Layer.effect(NodeStats, make)
