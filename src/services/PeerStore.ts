import { Context, type Effect, type Scope, type Stream } from "effect"
import type { Address } from "../domain/Address.js"
import type { PeerDirection, PeerEntry, PeerKind } from "../domain/PeerTable.js"

/** A connected peer: its address, how we reached it, who it is, and how to send it a frame. */
export interface Peer {
  readonly address: Address
  readonly direction: PeerDirection
  readonly kind: PeerKind
  readonly send: (frame: string) => Effect.Effect<void>
}

/** The addresses a node is connected to and the ones it is dialling. */
export interface PeerSnapshot {
  readonly connected: ReadonlyArray<Address>
  readonly dialling: ReadonlyArray<Address>
}

/**
 * The peer table (docs/peer-states.md): one entry per address, in one state (known, dialling,
 * connected, backing off, given up) with the reason for its last change. Its rules are the pure
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
   * connection). Scoped: when the scope closes the peer is known again, whatever ended the connection.
   */
  readonly register: (peer: Peer) => Effect.Effect<void, never, Scope.Scope>
  /** A dial of `address` failed with `message`. */
  readonly failed: (address: Address, message: string) => Effect.Effect<void>
  /** The redial loop of `address` waits until `until` (ms) after `failures` failed dials in a row. */
  readonly backOff: (address: Address, until: number, failures: number) => Effect.Effect<void>
  /** The redial loop gave `address` up after `failures` failed dials. */
  readonly giveUp: (address: Address, failures: number) => Effect.Effect<void>
  /** The connected peers, in the order they connected. */
  readonly peers: Effect.Effect<ReadonlyArray<Peer>>
  /** Every entry of the table, in the order the addresses were first recorded. */
  readonly entries: Effect.Effect<ReadonlyArray<PeerEntry>>
  readonly entry: (address: Address) => Effect.Effect<PeerEntry | undefined>
  readonly snapshot: Effect.Effect<PeerSnapshot>
  /** The current snapshot, then every change. */
  readonly changes: Stream.Stream<PeerSnapshot>
}

export class PeerStore extends Context.Tag("meshnode/PeerStore")<PeerStore, PeerStoreShape>() {}
