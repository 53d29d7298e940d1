import { Context, Data, Option } from "effect"
import type { Address } from "../domain/Address.js"

/** What a node knows about itself, read once at start-up. */
export interface NodeConfigShape {
  /** The node's folder (holds .env, known-peers.json and transactions.json). */
  readonly folder: string
  /** The port the WebSocket server listens on. */
  readonly port: number
  /** The interface to listen on. */
  readonly host: string
  /**
   * The address this node announces in its HANDSHAKE (ADVERTISED_ADDRESS, default ws://localhost:PORT):
   * the one other hosts dial, and the one this node treats as itself.
   */
  readonly address: Address
  /** known-peers.json, normalised. */
  readonly knownPeers: ReadonlyArray<Address>
  /** MY_PUBLIC_KEY from .env: the toAddress of transactions this node's add-transaction makes. */
  readonly publicKey: Option.Option<string>
  /** How the node heals its connections and its pool (REDIAL_*, HEARTBEAT_TIMEOUT_MS, SYNC_INTERVAL_MS). */
  readonly healing: HealingSettings
  /** How many peers it keeps and how it relays transactions (MAX_PEERS, GOSSIP_MODE). */
  readonly mesh: MeshSettings
  /** How transactions.json is written (POOL_FSYNC). */
  readonly pool: PoolSettings
}

/** How transactions.json is written. */
export interface PoolSettings {
  /**
   * Whether each write is fsynced before it replaces the file (POOL_FSYNC). Without it a write is
   * still atomic, so the file survives a crash of the node; a crash of the machine may lose the last
   * writes, or, depending on the file system, leave the file empty.
   */
  readonly fsync: boolean
}

export const defaultPool: PoolSettings = { fsync: true }

/**
 * How transactions are relayed: `pruned` skips the peers that the peer it came from is connected to
 * (that peer sends to them itself); `flood` sends every new transaction to every peer, as the spec does.
 */
export type GossipMode = "pruned" | "flood"

/** The shape of the network around this node (docs/scaling.md). */
export interface MeshSettings {
  /** At most this many peer connections (MAX_PEERS); none: a full mesh, as the spec requires. */
  readonly maxPeers: Option.Option<number>
  /** GOSSIP_MODE */
  readonly gossip: GossipMode
  /**
   * How long after its links change a node tells its peers (PEERS_ANNOUNCE_DELAY_MS): a burst of
   * changes, like start-up, then costs one PEERS message per peer.
   */
  readonly announceDelayMillis: number
  /**
   * Whether two of our nodes share one connection, the one either dialled (SHARE_CONNECTIONS; full
   * mesh only): see protocol/pairing.ts. Off, every pair connects both ways, as spec nodes do.
   */
  readonly shareConnections: boolean
}

export const defaultMesh: MeshSettings = {
  maxPeers: Option.none(),
  gossip: "pruned",
  announceDelayMillis: 250,
  shareConnections: true,
}

/** Timings of redials and liveness checks. */
export interface HealingSettings {
  /** The delay before the first redial; it doubles with each failed redial (REDIAL_BASE_DELAY_MS). */
  readonly redialBaseMillis: number
  /** The cap on the redial delay (REDIAL_MAX_DELAY_MS). */
  readonly redialMaxMillis: number
  /** Failed redials after which an address learned from a handshake is given up (REDIAL_LEARNED_ATTEMPTS). */
  readonly redialLearnedAttempts: number
  /**
   * How long an address given up because its peer connected but stopped answering is left alone,
   * however often peers list it (REDIAL_GIVEN_UP_REST_MS). One given up as unreachable is dialled
   * again as soon as it is listed: it may be back.
   */
  readonly givenUpRestMillis: number
  /** A peer that answers no ping for this long is dropped (HEARTBEAT_TIMEOUT_MS). */
  readonly heartbeatTimeoutMillis: number
  /** How often, on average, the node compares its pool with a random peer's (SYNC_INTERVAL_MS). */
  readonly syncIntervalMillis: number
}

export const defaultHealing: HealingSettings = {
  redialBaseMillis: 200,
  redialMaxMillis: 5_000,
  redialLearnedAttempts: 8,
  givenUpRestMillis: 60_000,
  heartbeatTimeoutMillis: 10_000,
  syncIntervalMillis: 10_000,
}

export class NodeConfig extends Context.Tag("meshnode/NodeConfig")<NodeConfig, NodeConfigShape>() {}

/** A node folder whose configuration cannot be used; the message says what to fix. */
export class NodeConfigError extends Data.TaggedError("NodeConfigError")<{ readonly message: string }> {}
