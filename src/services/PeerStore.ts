import { Context, type Effect, type Scope, type Stream } from "effect"
import type { Address } from "../domain/Address.js"

/** A connected peer: the address we dialled and how to send it a frame. */
export interface Peer {
  readonly address: Address
  readonly send: (frame: string) => Effect.Effect<void>
}

/** The addresses a node is connected to and the ones it is dialling. */
export interface PeerSnapshot {
  readonly connected: ReadonlyArray<Address>
  readonly dialling: ReadonlyArray<Address>
}

/**
 * The spec's `connectedAddresses` and `attemptingToConnectToAddress`, kept consistent: an address is
 * in at most one of the two sets, and claiming one for a dial is atomic.
 */
export interface PeerStoreShape {
  /**
   * Claims `address` for a dial: true if it was neither connected nor being dialled (it now is being
   * dialled), false otherwise. Scoped: when the scope closes the address leaves the dialling set, so a
   * dial that fails or is interrupted never leaves it behind.
   */
  readonly claim: (address: Address) => Effect.Effect<boolean, never, Scope.Scope>
  /**
   * Moves a claimed address from dialling to connected. Scoped: when the scope closes the peer leaves
   * the connected set, whatever ended the connection.
   */
  readonly register: (peer: Peer) => Effect.Effect<void, never, Scope.Scope>
  /** The connected peers, in the order they connected. */
  readonly peers: Effect.Effect<ReadonlyArray<Peer>>
  readonly snapshot: Effect.Effect<PeerSnapshot>
  /** The current snapshot, then every change. */
  readonly changes: Stream.Stream<PeerSnapshot>
}

export class PeerStore extends Context.Tag("meshnode/PeerStore")<PeerStore, PeerStoreShape>() {}
