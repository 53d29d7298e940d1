import { Context, type Option } from "effect"
import type { Address } from "../domain/Address.js"

/** What a node knows about itself, read once at start-up. */
export interface NodeConfigShape {
  /** The node's folder (holds .env, known-peers.json and transactions.json). */
  readonly folder: string
  /** The port the WebSocket server listens on. */
  readonly port: number
  /** The interface to listen on. */
  readonly host: string
  /** The address this node announces in its HANDSHAKE. */
  readonly address: Address
  /** known-peers.json, normalised. */
  readonly knownPeers: ReadonlyArray<Address>
  /** MY_PUBLIC_KEY from .env: the toAddress of transactions this node's add-transaction makes. */
  readonly publicKey: Option.Option<string>
  /** How the node heals its connections (REDIAL_*, HEARTBEAT_TIMEOUT_MS). */
  readonly healing: HealingSettings
}

/** Timings of redials and liveness checks. */
export interface HealingSettings {
  /** The delay before the first redial; it doubles with each failed redial (REDIAL_BASE_DELAY_MS). */
  readonly redialBaseMillis: number
  /** The cap on the redial delay (REDIAL_MAX_DELAY_MS). */
  readonly redialMaxMillis: number
  /** Failed redials after which an address learned from a handshake is given up (REDIAL_LEARNED_ATTEMPTS). */
  readonly redialLearnedAttempts: number
  /** A peer that answers no ping for this long is dropped (HEARTBEAT_TIMEOUT_MS). */
  readonly heartbeatTimeoutMillis: number
}

export const defaultHealing: HealingSettings = {
  redialBaseMillis: 200,
  redialMaxMillis: 5_000,
  redialLearnedAttempts: 8,
  heartbeatTimeoutMillis: 10_000,
}

export class NodeConfig extends Context.Tag("meshnode/NodeConfig")<NodeConfig, NodeConfigShape>() {}
