import { Clock, Effect, Layer, Ref } from "effect"
import type { Transaction } from "../domain/Transaction.js"
import { type Counter, NodeStats, type NodeStatsSnapshot, zeroCounters } from "../services/NodeStats.js"

/** How many accepted transactions /status and the dashboard show. */
export const RECENT_TRANSACTIONS = 20

const bump = (counts: Readonly<Record<string, number>>, key: string, by: number) => ({
  ...counts,
  [key]: (counts[key] ?? 0) + by,
})

/** NodeStats in a Ref: one set of counters per node, even when several nodes share a process. */
export const make = Effect.gen(function* () {
  const startedAt = yield* Clock.currentTimeMillis
  const state = yield* Ref.make<NodeStatsSnapshot>({
    startedAt,
    counters: zeroCounters,
    messagesReceived: {},
    messagesSent: {},
    recent: [],
  })

  const increment = (counter: Counter) =>
    Ref.update(state, (s) => ({ ...s, counters: { ...s.counters, [counter]: s.counters[counter] + 1 } }))

  const transactionAccepted = (tx: Transaction) =>
    Effect.flatMap(Clock.currentTimeMillis, (receivedAt) =>
      Ref.update(state, (s) => ({
        ...s,
        counters: { ...s.counters, transactionsAccepted: s.counters.transactionsAccepted + 1 },
        recent: [...s.recent, { ...tx, receivedAt }].slice(-RECENT_TRANSACTIONS),
      })),
    )

  return NodeStats.of({
    increment,
    messageReceived: (type) =>
      Ref.update(state, (s) => ({ ...s, messagesReceived: bump(s.messagesReceived, type, 1) })),
    messagesSent: (type, count) =>
      count === 0 ? Effect.void : Ref.update(state, (s) => ({ ...s, messagesSent: bump(s.messagesSent, type, count) })),
    transactionAccepted,
    snapshot: Ref.get(state),
  })
})

export const layer = Layer.effect(NodeStats, make)
