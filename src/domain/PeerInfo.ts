import { Schema } from "effect"
import type { PeerEntry } from "./PeerTable.js"

/**
 * One peer as `GET /peers` reports it (what `getpeerinfo` gives a Bitcoin operator): its state, who it
 * is, since when, the last failure and the next retry. One schema for the node that encodes it and for
 * the `status` command that decodes it.
 */
export const PeerInfo = Schema.Struct({
  address: Schema.String,
  state: Schema.Literal("known", "dialling", "connected", "backing off", "given up", "own"),
  kind: Schema.optional(Schema.Literal("ours", "spec")),
  direction: Schema.optional(Schema.Literal("outbound", "inbound")),
  /** When the connection opened (ms since the epoch). */
  connectedSince: Schema.optional(Schema.Number),
  /** Failed dials (or connections whose peer stopped answering) in a row. */
  failures: Schema.optional(Schema.Number),
  /**
   * When the next dial is due (ms since the epoch), while backing off; given up, from when a peer
   * listing the address has it dialled again.
   */
  nextRetry: Schema.optional(Schema.Number),
  lastFailure: Schema.optional(Schema.Struct({ at: Schema.Number, message: Schema.String })),
  /** Waiting in the address book for the node's dial loop. */
  queued: Schema.optional(Schema.Boolean),
  /** Why the state last changed, and when. */
  reason: Schema.String,
  changedAt: Schema.Number,
})
export type PeerInfo = typeof PeerInfo.Type

/** What `GET /peers` answers: the node's address and its peer table. */
export const PeersReport = Schema.Struct({
  address: Schema.String,
  peers: Schema.Array(PeerInfo),
  /** Addresses at rest in the table and left out of `peers` (`GET /peers?address=…` shows any one). */
  unlisted: Schema.optional(Schema.Number),
})
export type PeersReport = typeof PeersReport.Type

/** A table entry as /peers shows it. */
export const peerInfoOf = (entry: PeerEntry): PeerInfo => {
  const base = {
    address: entry.address,
    reason: entry.reason,
    changedAt: entry.changedAt,
    ...(entry.lastFailure === undefined ? {} : { lastFailure: entry.lastFailure }),
    ...(entry.queued === true ? { queued: true } : {}),
  }
  const { state } = entry
  switch (state._tag) {
    case "Known":
      return { ...base, state: "known" }
    case "Dialling":
      return { ...base, state: "dialling" }
    case "Connected":
      return {
        ...base,
        state: "connected",
        kind: state.kind,
        direction: state.direction,
        connectedSince: state.since,
      }
    case "BackingOff":
      return { ...base, state: "backing off", failures: state.failures, nextRetry: state.until }
    case "Own":
      return { ...base, state: "own" }
    case "GivenUp":
      // Given up as unreachable, a listing dials it at once: no time to show.
      return state.retryFrom > entry.changedAt
        ? { ...base, state: "given up", failures: state.failures, nextRetry: state.retryFrom }
        : { ...base, state: "given up", failures: state.failures }
  }
}
