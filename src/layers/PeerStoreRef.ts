import { Effect, Layer, Stream, SubscriptionRef } from "effect"
import type { Address } from "../domain/Address.js"
import { type Peer, type PeerSnapshot, PeerStore } from "../services/PeerStore.js"

interface State {
  readonly connected: ReadonlyMap<Address, Peer>
  readonly dialling: ReadonlySet<Address>
}

const toSnapshot = (state: State): PeerSnapshot => ({
  connected: [...state.connected.keys()],
  dialling: [...state.dialling],
})

/** PeerStore backed by a SubscriptionRef: every change is atomic and observable. */
export const make = Effect.gen(function* () {
  const state = yield* SubscriptionRef.make<State>({ connected: new Map(), dialling: new Set() })

  const withoutDialling = (current: State, address: Address): State => {
    if (!current.dialling.has(address)) return current
    const dialling = new Set(current.dialling)
    dialling.delete(address)
    return { ...current, dialling }
  }

  const claim = (address: Address) =>
    Effect.acquireRelease(
      SubscriptionRef.modify(state, (current): [boolean, State] =>
        current.connected.has(address) || current.dialling.has(address)
          ? [false, current]
          : [true, { ...current, dialling: new Set(current.dialling).add(address) }],
      ),
      (claimed) =>
        claimed ? SubscriptionRef.update(state, (current) => withoutDialling(current, address)) : Effect.void,
    )

  const register = (peer: Peer) =>
    Effect.acquireRelease(
      SubscriptionRef.update(state, (current) => ({
        dialling: withoutDialling(current, peer.address).dialling,
        connected: new Map(current.connected).set(peer.address, peer),
      })),
      () =>
        SubscriptionRef.update(state, (current) => {
          // A newer connection to the same address may have replaced this one: leave it alone.
          if (current.connected.get(peer.address) !== peer) return current
          const connected = new Map(current.connected)
          connected.delete(peer.address)
          return { ...current, connected }
        }),
    ).pipe(Effect.asVoid)

  return PeerStore.of({
    claim,
    register,
    peers: Effect.map(SubscriptionRef.get(state), (current) => [...current.connected.values()]),
    snapshot: Effect.map(SubscriptionRef.get(state), toSnapshot),
    changes: Stream.map(state.changes, toSnapshot),
  })
})

export const layer = Layer.effect(PeerStore, make)
