import { Context, Effect } from "effect"
import type { NodeStatus } from "../domain/NodeStatus.js"
import type { Transaction } from "../domain/Transaction.js"

/** The counters a node keeps about itself, for /status and /metrics. */
export type Counter =
  | "framesRefused"
  | "transactionsAccepted"
  | "transactionsDuplicate"
  | "dialsFailed"
  | "inboundConnections"
  | "outboundConnections"
  /** Inbound connections from nodes of ours that stand in for a dial to them (protocol/pairing.ts). */
  | "adoptedConnections"
  /** Connections closed because the peer left too much of what we sent unread (MAX_SEND_BUFFER_BYTES). */
  | "peersNotReading"

/** A transaction this node accepted, and when. */
export interface RecentTransaction {
  readonly hash: string
  readonly fromAddress: string | null
  readonly toAddress: string
  readonly amount: number
  readonly timeStamp: number
  readonly receivedAt: number
}

export interface NodeStatsSnapshot {
  /** When the node started, in milliseconds since the epoch. */
  readonly startedAt: number
  readonly counters: Readonly<Record<Counter, number>>
  /** Messages by type, as received from and sent to peers. */
  readonly messagesReceived: Readonly<Record<string, number>>
  readonly messagesSent: Readonly<Record<string, number>>
  /** The last transactions accepted, newest last. */
  readonly recent: ReadonlyArray<RecentTransaction>
}

export interface NodeStatsShape {
  /** Adds `by` (default 1) to a counter. */
  readonly increment: (counter: Counter, by?: number) => Effect.Effect<void>
  readonly messageReceived: (type: string, count?: number) => Effect.Effect<void>
  readonly messagesSent: (type: string, count: number) => Effect.Effect<void>
  /**
   * Counts accepted transactions (oldest first), received at `receivedAt` (the time their frames were
   * handled at, which the caller has already read), and keeps the newest among the recent ones.
   */
  readonly transactionsAccepted: (txs: ReadonlyArray<Transaction>, receivedAt: number) => Effect.Effect<void>
  /** Counts a refused frame (framesRefused) under its reason, for `meshnode_frames_refused_total{reason}`. */
  readonly frameRefused: (reason: string) => Effect.Effect<void>
  /**
   * One write of the pool file took `millis`: for the `meshnode_pool_write_seconds` histogram. The pool
   * layer calls it after each write.
   */
  readonly poolWritten: (millis: number) => Effect.Effect<void>
  /** This node's metrics (and its process's) in the Prometheus text format, given its status. */
  readonly renderMetrics: (status: NodeStatus) => Effect.Effect<string>
  readonly snapshot: Effect.Effect<NodeStatsSnapshot>
}

export const zeroCounters: Readonly<Record<Counter, number>> = {
  framesRefused: 0,
  transactionsAccepted: 0,
  transactionsDuplicate: 0,
  dialsFailed: 0,
  inboundConnections: 0,
  outboundConnections: 0,
  adoptedConnections: 0,
  peersNotReading: 0,
}

/**
 * Per-node statistics. A Reference whose default counts nothing, so the protocol runs unchanged
 * where no one asks for statistics (the in-memory tests); NodeStatsRef provides real counters.
 */
export class NodeStats extends Context.Reference<NodeStats>()("meshnode/NodeStats", {
  defaultValue: (): NodeStatsShape => ({
    increment: () => Effect.void,
    messageReceived: () => Effect.void,
    messagesSent: () => Effect.void,
    transactionsAccepted: () => Effect.void,
    frameRefused: () => Effect.void,
    poolWritten: () => Effect.void,
    renderMetrics: () => Effect.succeed(""),
    snapshot: Effect.succeed({
      startedAt: 0,
      counters: zeroCounters,
      messagesReceived: {},
      messagesSent: {},
      recent: [],
    }),
  }),
}) {}
