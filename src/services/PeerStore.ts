import { Context, type Effect, type Queue, type Scope, type Stream } from "effect"
import type { Address } from "../domain/Address.js"
import type { PeerEntry, PeerLink, WaitReason } from "../domain/PeerTable.js"
import type { LinkChange, RelayTarget } from "../domain/peerLinks.js"

/** A connection to a peer as the table records it: its address, direction, kind, and how to send and close. */
export type Peer = Omit<PeerLink, "serial">

/** A change of the addresses we relay to (domain/peerLinks.ts). */
export interface LinkEvent {
  readonly address: Address
  readonly change: LinkChange
  /** The peer is a node of ours (as it was before the change, for a loss): others may count on our link. */
  readonly ours: boolean
}

/** The addresses a node is connected to and the ones it is dialling. */
export interface PeerSnapshot {
  readonly connected: ReadonlyArray<Address>
  readonly dialling: ReadonlyArray<Address>
}

/**
 * The peer table (docs/peer-states.md): one entry per address, in one state (known, dialling,
 * connected, backing off, given up) with the reason for its last change, and the links we relay on
 * to it. Its rules are the pure
 * functions of domain/PeerTable.ts. `snapshot` is the spec's `connectedAddresses` and
 * `attemptingToConnectToAddress`, kept consistent: an address is in at most one of the two, and
 * claiming one for a dial is atomic.
 */
export interface PeerStoreShape {
  /**
   * Claims `address` for a dial: true if it was neither connected nor being dialled (it now is being
   * dialled), false otherwise. Scoped: when the scope closes a dial that never connected is known
   * again, so a dial that fails or is interrupted never leaves it behind.
   */
  readonly claim: (address: Address) => Effect.Effect<boolean, never, Scope.Scope>
  /**
   * Records a connection to the peer (a claimed dial that connected, or an adopted inbound
   * connection): the peer is connected and the connection is one of its links. Scoped: when the scope
   * closes the link goes and the peer is known again, whatever ended the connection.
   */
  readonly register: (peer: Peer) => Effect.Effect<PeerLink, never, Scope.Scope>
  /**
   * Records an inbound connection whose peer named itself in PEERS as one of its links, without
   * changing its state (it is not in our HANDSHAKE's connected list). Scoped as `register`.
   */
  readonly link: (peer: Peer) => Effect.Effect<PeerLink, never, Scope.Scope>
  /** The peer at `address` sent PEERS listing `relaysTo` peers: it is a node of ours. */
  readonly markOurs: (address: Address, relaysTo: number) => Effect.Effect<void>
  /** We are dropping `address` on purpose: our PEERS no longer lists it. */
  readonly leave: (address: Address) => Effect.Effect<void>
  /** Where transactions go: each linked address once, on its outbound link if it has both. */
  readonly relayTargets: Effect.Effect<ReadonlyArray<RelayTarget>>
  /** Every link, oldest first. */
  readonly links: Effect.Effect<ReadonlyArray<PeerLink>>
  /** From now on, each change of the addresses we relay to (for as long as the scope lasts). */
  readonly linkEvents: Effect.Effect<Queue.Dequeue<LinkEvent>, never, Scope.Scope>
  /** `addresses` went into the address book, to wait for the node's dial loop. */
  readonly queue: (addresses: ReadonlyArray<Address>) => Effect.Effect<void>
  /** The dial loop took `address` out of the address book. */
  readonly unqueue: (address: Address) => Effect.Effect<void>
  /** A dial of `address` reached this node itself: the address is ours, never dialled again. */
  readonly leadsBack: (address: Address) => Effect.Effect<void>
  /** A dial of `address` failed with `message`. */
  readonly failed: (address: Address, message: string) => Effect.Effect<void>
  /** The redial loop of `address` waits until `until` (ms) after `failures` failures in a row, for `reason`. */
  readonly backOff: (
    address: Address,
    wait: { readonly until: number; readonly failures: number; readonly reason: WaitReason },
  ) => Effect.Effect<void>
  /** The redial loop gave `address` up after `failures` failures; listing it dials it again from `retryFrom` (ms). */
  readonly giveUp: (
    address: Address,
    given: { readonly failures: number; readonly retryFrom: number },
  ) => Effect.Effect<void>
  /** Every entry of the table, in the order the addresses were first recorded. */
  readonly entries: Effect.Effect<ReadonlyArray<PeerEntry>>
  readonly entry: (address: Address) => Effect.Effect<PeerEntry | undefined>
  /** The entries of `addresses`, in their order, in one step (a HANDSHAKE lists a whole mesh). */
  readonly entriesOf: (addresses: ReadonlyArray<Address>) => Effect.Effect<ReadonlyArray<PeerEntry | undefined>>
  readonly snapshot: Effect.Effect<PeerSnapshot>
  /** The current snapshot, then every change. */
  readonly changes: Stream.Stream<PeerSnapshot>
}

export class PeerStore extends Context.Tag("meshnode/PeerStore")<PeerStore, PeerStoreShape>() {}
