import { Clock, Effect, Stream } from "effect"
import type { NodeStatus } from "../domain/NodeStatus.js"
import { NodeConfig } from "../services/NodeConfig.js"
import { NodeStats } from "../services/NodeStats.js"
import { PeerStore } from "../services/PeerStore.js"
import { TransactionPool } from "../services/TransactionPool.js"

/** How many peers a node remembers having been connected to: a bound a peer cannot talk past. */
const REMEMBERED_PEERS = 256

/** The node's status as `GET /status` reports it; `remembered` are the peers it was connected to. */
const collectStatus = (remembered: ReadonlySet<string> = new Set()) =>
  Effect.gen(function* () {
    const config = yield* NodeConfig
    const { connected, dialling } = yield* (yield* PeerStore).snapshot
    const pool = yield* TransactionPool
    const summary = yield* pool.summary
    const health = yield* pool.health
    const stats = yield* (yield* NodeStats).snapshot
    const now = yield* Clock.currentTimeMillis
    const known = new Set<string>([...config.knownPeers, ...remembered])
    known.delete(config.address)
    return {
      address: config.address,
      pid: process.pid,
      connected,
      dialling,
      known: [...known].sort(),
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
      // Hashes and numbers only: a transaction's body (fields of any length) is served by GET /tx/:hash.
      recent: stats.recent.map(({ hash, amount, timeStamp, receivedAt }) => ({ hash, amount, timeStamp, receivedAt })),
    } satisfies NodeStatus
  })

/**
 * collectStatus, with the peers this node has been connected to since it started remembered by a
 * fiber that follows the peer table (for as long as the scope lasts). A dashboard opened after a
 * node went down learns of it from them, and shows it as down.
 */
export const makeCollectStatus = Effect.gen(function* () {
  const peers = yield* PeerStore
  const remembered = new Set<string>()
  yield* Effect.forkScoped(
    Stream.runForEach(peers.changes, ({ connected }) =>
      Effect.sync(() => {
        for (const address of connected) if (remembered.size < REMEMBERED_PEERS) remembered.add(address)
      }),
    ),
  )
  return collectStatus(remembered)
})
