import type { Effect } from "effect"
import type { Address } from "./Address.js"

/**
 * The peer table's state machine (docs/peer-states.md), as pure functions over one entry: the
 * PeerStore layer keeps the entries and applies these, so every layer and test shares one set of rules.
 *
 *   known ──claim──▶ dialling ──connect──▶ connected ──close──▶ known ──redial──▶ backing off
 *                       │                                                     ▲       │
 *                       └──────────────────────── fail ───────────────────────┘       └──▶ given up
 *                       │
 *                       └── reached this node itself ──▶ own (never dialled again)
 *
 * An inbound connection from a node of ours that named itself (pairing) connects an entry from any
 * state but dialling or connected.
 */

/** Who is on the other end: a node of ours (it sent our node id, or PEERS), or a spec node. */
export type PeerKind = "ours" | "spec"

export type PeerDirection = "outbound" | "inbound"

export type PeerState =
  /** Heard of, or no longer connected: not being dialled. */
  | { readonly _tag: "Known" }
  | { readonly _tag: "Dialling"; readonly since: number }
  | {
      readonly _tag: "Connected"
      readonly direction: PeerDirection
      readonly kind: PeerKind
      readonly since: number
      /** Increases with every connection the table records: the order peers connected in. */
      readonly serial: number
    }
  /** A dial failed or a connection dropped: the next dial waits until `until` (ms). */
  | { readonly _tag: "BackingOff"; readonly until: number; readonly failures: number }
  /**
   * A learned address that failed too often: no longer dialled, and someone listing it again has it
   * dialled only from `retryFrom` (ms) on.
   */
  | { readonly _tag: "GivenUp"; readonly failures: number; readonly retryFrom: number }
  /** A dial of it reached this node itself (another name for it): never dialled again. */
  | { readonly _tag: "Own" }

/**
 * One connection the node relays on (docs/scaling.md): every outbound connection, and every inbound one
 * whose peer named itself (in its HANDSHAKE, adopted by pairing, or in PEERS).
 */
export interface PeerLink {
  readonly address: Address
  readonly direction: PeerDirection
  /** "ours" if the peer said so when the connection opened (node id), or if it is inbound and named itself. */
  readonly kind: PeerKind
  readonly send: (frame: string) => Effect.Effect<void>
  readonly close: Effect.Effect<void>
  /** Increases with every connection the table records: the order they connected in. */
  readonly serial: number
}

export interface PeerEntry {
  readonly address: Address
  readonly state: PeerState
  /** The connections we relay on to this address (domain/peerLinks.ts), oldest first. */
  readonly links: ReadonlyArray<PeerLink>
  /** How many peers it said it relays to in its last PEERS on a link: set only for a node of ours. */
  readonly relaysTo?: number
  /** Being dropped on purpose (MAX_PEERS): no longer announced, still relayed to until its links close. */
  readonly leaving?: boolean
  /** Listed by a peer and waiting in the address book for the node's own dial loop (addressBook.ts). */
  readonly queued?: boolean
  /** Why the entry last changed state, in a few words ("dial failed: connect ECONNREFUSED …"). */
  readonly reason: string
  /** When it last changed state (ms). */
  readonly changedAt: number
  /** The last dial failure, if any: when and what. */
  readonly lastFailure?: { readonly at: number; readonly message: string }
}

/** A new state for the entry; its links and what it told us stay. */
const make = (address: Address, state: PeerState, reason: string, now: number, previous?: PeerEntry): PeerEntry =>
  previous === undefined
    ? { address, state, reason, changedAt: now, links: [] }
    : { ...previous, state, reason, changedAt: now }

/** An address we have just heard of. */
export const heardOf = (address: Address, now: number): PeerEntry => make(address, { _tag: "Known" }, "heard of", now)

/** Whether the entry is taken: being dialled, or connected. A claim or an adoption is then refused. */
const isBusy = (entry: PeerEntry | undefined): boolean =>
  entry !== undefined && (entry.state._tag === "Dialling" || entry.state._tag === "Connected")

/** Whether the address leads back to this node (a dial of it reached ourselves). */
export const isOwn = (entry: PeerEntry | undefined): boolean => entry?.state._tag === "Own"

/** Whether no redial may change the entry: it is busy, or it is our own. */
const isFixed = (entry: PeerEntry | undefined): boolean => isBusy(entry) || isOwn(entry)

/** A dial starts: the entry is dialling, or undefined if it is dialling, connected, or our own. */
export const claim = (entry: PeerEntry | undefined, address: Address, now: number): PeerEntry | undefined =>
  isFixed(entry) ? undefined : make(address, { _tag: "Dialling", since: now }, "dial started", now, entry)

/** A dial of `address` reached this node itself: the address is our own from now on. */
export const leadsBack = (entry: PeerEntry | undefined, address: Address, now: number): PeerEntry =>
  make(address, { _tag: "Own" }, "leads back to this node", now, entry)

/** A connection opened (our dial, or an adopted inbound one): the entry is connected. */
export const connect = (
  entry: PeerEntry | undefined,
  address: Address,
  connection: { readonly direction: PeerDirection; readonly kind: PeerKind; readonly serial: number },
  now: number,
): PeerEntry =>
  make(
    address,
    { _tag: "Connected", ...connection, since: now },
    connection.direction === "outbound" ? "connected" : "inbound connection adopted",
    now,
    entry,
  )

/** A listed address went into the address book: it waits there for the dial loop. */
export const queue = (entry: PeerEntry | undefined, address: Address, now: number): PeerEntry => ({
  ...(entry ?? heardOf(address, now)),
  queued: true,
})

/** The dial loop took the address out of the address book (to dial it, or to find it settled). */
export const unqueue = (entry: PeerEntry | undefined): PeerEntry | undefined => {
  if (entry?.queued !== true) return entry
  const { queued: _queued, ...rest } = entry
  return rest
}

/**
 * A dial or a connection ended with nothing else planned yet: the entry is known again. A connection
 * that is not the one recorded (`serial`) changes nothing: a newer one replaced it.
 */
export const release = (entry: PeerEntry | undefined, reason: string, now: number, serial?: number) => {
  if (entry === undefined) return undefined
  const { state } = entry
  if (state._tag === "Connected" ? state.serial !== serial : state._tag !== "Dialling") return entry
  return make(entry.address, { _tag: "Known" }, reason, now, entry)
}

/** A dial failed: remembered as the entry's last failure (its state follows from the redial loop). */
export const failed = (entry: PeerEntry | undefined, address: Address, message: string, now: number): PeerEntry => ({
  ...(entry ?? heardOf(address, now)),
  lastFailure: { at: now, message },
})

/** Why a redial loop waits: its dial failed, its connection dropped, or its peer stopped answering pings. */
export type WaitReason = "dial failed" | "connection dropped" | "peer stopped answering"

/** The redial loop waits until `until` after `failures` failed dials or connections (0: one that held). */
export const backOff = (
  entry: PeerEntry | undefined,
  address: Address,
  wait: { readonly until: number; readonly failures: number; readonly reason: WaitReason },
  now: number,
): PeerEntry =>
  entry !== undefined && isFixed(entry)
    ? entry
    : make(address, { _tag: "BackingOff", until: wait.until, failures: wait.failures }, wait.reason, now, entry)

/** The redial loop gave up on a learned address; a listing dials it again only from `retryFrom` on. */
export const giveUp = (
  entry: PeerEntry | undefined,
  address: Address,
  given: { readonly failures: number; readonly retryFrom: number },
  now: number,
): PeerEntry =>
  entry !== undefined && isFixed(entry)
    ? entry
    : make(
        address,
        { _tag: "GivenUp", failures: given.failures, retryFrom: given.retryFrom },
        `gave up after ${given.failures} failures`,
        now,
        entry,
      )

/**
 * Whether the table may forget the entry when it is full: nothing is under way for it (known, given
 * up, or our own; no link, not waiting in the address book). A loop that records a wait re-creates it;
 * a forgotten alias of ours is found again by its next dial (names that lead back to us cost an
 * attacker nothing to make, so they are bounded too).
 */
export const isForgettable = (entry: PeerEntry): boolean =>
  (entry.state._tag === "Known" || entry.state._tag === "GivenUp" || entry.state._tag === "Own") &&
  entry.links.length === 0 &&
  entry.queued !== true

/** Whether the entry was given up and is still left alone at `now`, however often peers list it. */
export const isResting = (entry: PeerEntry | undefined, now: number): boolean =>
  entry?.state._tag === "GivenUp" && now < entry.state.retryFrom

/** The redial loop ended while waiting (the peer connected to us instead, or the node stops). */
export const standDown = (entry: PeerEntry | undefined, reason: string, now: number) =>
  entry === undefined || isFixed(entry) ? entry : make(entry.address, { _tag: "Known" }, reason, now, entry)

/** The entries connected, in the order they connected. */
export const connectedOf = (entries: Iterable<PeerEntry>): Array<Address> =>
  [...entries]
    .flatMap((entry) => (entry.state._tag === "Connected" ? [[entry.state.serial, entry.address] as const] : []))
    .sort((a, b) => a[0] - b[0])
    .map(([, address]) => address)
