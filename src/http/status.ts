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
  const pool = yield* TransactionPool
  const summary = yield* pool.summary
  const health = yield* pool.health
  const stats = yield* (yield* NodeStats).snapshot
  const now = yield* Clock.currentTimeMillis
  return {
    address: config.address,
    pid: process.pid,
    connected,
    dialling,
    pool: { size: summary.count, digest: summary.digest },
    degraded: health.degraded,
    ...(health.reason === undefined ? {} : { degradedReason: health.reason }),
    startedAt: stats.startedAt,
    uptimeSeconds: Math.max(0, (now - stats.startedAt) / 1000),
    counters: {
      ...stats.counters,
      poolWriteFailures: health.writeFailures,
      poolRefusedFull: health.refused.full,
      poolRefusedTooLong: health.refused.tooLong,
    },
    messagesReceived: stats.messagesReceived,
    messagesSent: stats.messagesSent,
    recent: stats.recent,
  } satisfies NodeStatus
})
