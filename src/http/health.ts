import { Effect } from "effect"
import { NodeConfig } from "../services/NodeConfig.js"
import { PeerStore } from "../services/PeerStore.js"
import { TransactionPool } from "../services/TransactionPool.js"

/** A probe's answer: 200 when the check passes, 503 when it does not, and why as JSON. */
export interface ProbeResult {
  readonly status: 200 | 503
  readonly body: Readonly<Record<string, unknown>>
}

/**
 * `GET /healthz`: 503 while the node is degraded (its pool cannot be written; it keeps accepting
 * transactions in memory and retries), 200 otherwise.
 */
export const checkHealth = Effect.gen(function* () {
  const health = yield* (yield* TransactionPool).health
  return health.degraded
    ? { status: 503, body: { status: "degraded", reason: health.reason ?? "", unwritten: health.unwritten } }
    : { status: 200, body: { status: "ok" } }
}) satisfies Effect.Effect<ProbeResult, never, TransactionPool>

/**
 * `GET /readyz`: 200 once the node is meshed with at least one peer, or runs alone by config (no
 * known peers); 503 otherwise. It answers only once the node listens, so listening needs no check.
 */
export const checkReady = Effect.gen(function* () {
  const config = yield* NodeConfig
  const { connected } = yield* (yield* PeerStore).snapshot
  if (connected.length > 0) return { status: 200, body: { status: "ready", connected: connected.length } }
  if (config.knownPeers.length === 0) return { status: 200, body: { status: "ready", connected: 0, alone: true } }
  return { status: 503, body: { status: "not meshed", connected: 0, knownPeers: config.knownPeers.length } }
}) satisfies Effect.Effect<ProbeResult, never, NodeConfig | PeerStore>
