import { Schema } from "effect"

/**
 * What `GET /status` answers. One schema for the node that encodes it and for the `status` command
 * that decodes it, so the two cannot drift apart.
 */
export const NodeStatus = Schema.Struct({
  address: Schema.String,
  /** The node's process id, so an operator (or a test) can signal that one node. */
  pid: Schema.Number,
  connected: Schema.Array(Schema.String),
  dialling: Schema.Array(Schema.String),
  /**
   * Every other node this one knows of: its configured known peers and the peers it has been
   * connected to since it started (connected or not now). Absent from older nodes' answers.
   */
  known: Schema.optionalWith(Schema.Array(Schema.String), { default: () => [] }),
  pool: Schema.Struct({
    size: Schema.Number,
    /** The pool's digest (domain/poolDigest.ts): equal digests mean equal pools, whatever the arrival order. */
    digest: Schema.String,
  }),
  /** Present and true while the pool cannot be written (GET /healthz answers 503), with why. */
  degraded: Schema.optional(Schema.Boolean),
  degradedReason: Schema.optional(Schema.String),
  startedAt: Schema.Number,
  uptimeSeconds: Schema.Number,
  counters: Schema.Record({ key: Schema.String, value: Schema.Number }),
  messagesReceived: Schema.Record({ key: Schema.String, value: Schema.Number }),
  messagesSent: Schema.Record({ key: Schema.String, value: Schema.Number }),
  recent: Schema.Array(
    Schema.Struct({
      hash: Schema.String,
      amount: Schema.Number,
      timeStamp: Schema.Number,
      receivedAt: Schema.Number,
    }),
  ),
})
export type NodeStatus = typeof NodeStatus.Type

/** The pool digest /status reports. */
export { poolDigest } from "./poolDigest.js"
