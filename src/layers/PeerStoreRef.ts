import { Effect, Layer } from "effect"
import type { Address } from "../domain/Address.js"
import { acquireReleaseNow } from "../domain/acquireNow.js"
import { makeChanges } from "../domain/changes.js"
import { type Peer, type PeerSnapshot, PeerStore } from "../services/PeerStore.js"

interface State {
  readonly connected: ReadonlyMap<Address, Peer>
  readonly dialling: ReadonlySet<Address>
}

const toSnapshot = (state: State): PeerSnapshot => ({
  connected: [...state.connected.keys()],
  dialling: [...state.dialling],
})

/**
 * PeerStore in one variable: every change is one synchronous step, so it is atomic, and observable
 * through `changes`. Several changes per connection: a plain update, not a lock and a PubSub each.
 */
export const make = Effect.sync(() => {
  let state: State = { connected: new Map(), dialling: new Set() }
  const { publish, changes } = makeChanges(() => toSnapshot(state))
  const updateNow = (f: (current: State) => State) => {
    state = f(state)
    publish()
  }
  const update = (f: (current: State) => State) => Effect.sync(() => updateNow(f))

  const withoutDialling = (current: State, address: Address): State => {
    if (!current.dialling.has(address)) return current
    const dialling = new Set(current.dialling)
    dialling.delete(address)
    return { ...current, dialling }
  }

  // Both are taken once per connection: plain acquisitions (acquireReleaseNow), released with the scope.
  const claim = (address: Address) =>
    acquireReleaseNow(
      () => {
        if (state.connected.has(address) || state.dialling.has(address)) return false
        state = { ...state, dialling: new Set(state.dialling).add(address) }
        publish()
        return true
      },
      (claimed) => (claimed ? update((current) => withoutDialling(current, address)) : Effect.void),
    )

  const register = (peer: Peer) =>
    acquireReleaseNow(
      () =>
        updateNow((current) => ({
          dialling: withoutDialling(current, peer.address).dialling,
          connected: new Map(current.connected).set(peer.address, peer),
        })),
      () =>
        update((current) => {
          // A newer connection to the same address may have replaced this one: leave it alone.
          if (current.connected.get(peer.address) !== peer) return current
          const connected = new Map(current.connected)
          connected.delete(peer.address)
          return { ...current, connected }
        }),
    )

  return PeerStore.of({
    claim,
    register,
    peers: Effect.sync(() => [...state.connected.values()]),
    snapshot: Effect.sync(() => toSnapshot(state)),
    changes,
  })
})

export const layer = Layer.effect(PeerStore, make)
