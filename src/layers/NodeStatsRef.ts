import { Clock, Effect, Layer } from "effect"
import type { Transaction } from "../domain/Transaction.js"
import {
  type Counter,
  NodeStats,
  type NodeStatsSnapshot,
  type RecentTransaction,
  zeroCounters,
} from "../services/NodeStats.js"

/** How many accepted transactions /status and the dashboard show. */
export const RECENT_TRANSACTIONS = 20

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

  const transactionsAccepted = (txs: ReadonlyArray<Transaction>) =>
    txs.length === 0
      ? Effect.void
      : Effect.map(Clock.currentTimeMillis, (receivedAt) => {
          counters.transactionsAccepted += txs.length
          const newest = txs.slice(-RECENT_TRANSACTIONS).map((tx): RecentTransaction => ({ ...tx, receivedAt }))
          recent = [...recent, ...newest].slice(-RECENT_TRANSACTIONS)
        })

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
    transactionsAccepted,
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
