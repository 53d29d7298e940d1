import { Clock, Effect } from "effect"
import type { NodeStatus } from "../domain/NodeStatus.js"
import { NodeConfig } from "../services/NodeConfig.js"
import { NodeStats } from "../services/NodeStats.js"
import { PeerStore } from "../services/PeerStore.js"
import { TransactionPool } from "../services/TransactionPool.js"

/** The node's status as `GET /status` reports it. */
export const collectStatus = Effect.gen(function* () {
  const config = yield* NodeConfig
  const { connected, dialling } = yield* (yield* PeerStore).snapshot
  const summary = yield* (yield* TransactionPool).summary
  const stats = yield* (yield* NodeStats).snapshot
  const now = yield* Clock.currentTimeMillis
  return {
    address: config.address,
    pid: process.pid,
    connected,
    dialling,
    pool: { size: summary.count, digest: summary.digest },
    startedAt: stats.startedAt,
    uptimeSeconds: Math.max(0, (now - stats.startedAt) / 1000),
    counters: stats.counters,
    messagesReceived: stats.messagesReceived,
    messagesSent: stats.messagesSent,
    // Hashes and numbers only: a transaction's body (fields of any length) is served by GET /tx/:hash.
    recent: stats.recent.map(({ hash, amount, timeStamp, receivedAt }) => ({ hash, amount, timeStamp, receivedAt })),
  } satisfies NodeStatus
})
