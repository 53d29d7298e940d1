import { Clock, Effect, Layer, PubSub, Stream } from "effect"
import type { Address } from "../domain/Address.js"
import * as PeerTable from "../domain/PeerTable.js"
import { type Peer, type PeerSnapshot, PeerStore } from "../services/PeerStore.js"

/**
 * PeerStore in memory: each change applies one transition of domain/PeerTable.ts to one entry, as one
 * synchronous step (so it is atomic), and tells followers through a PubSub. A forming mesh changes the
 * table several times per connection: a step, not a lock and a copy of the table each.
 */
export const make = Effect.gen(function* () {
  const entries = new Map<Address, PeerTable.PeerEntry>()
  // The connected peers in the order they connected, and the addresses being dialled: kept beside the
  // entries so a snapshot (read for every HANDSHAKE we send) is two plain copies.
  const peers = new Map<Address, Peer>()
  const dialling = new Set<Address>()
  let serial = 0
  // Built when read, once per change at most: a HANDSHAKE reads it, most changes are never read.
  let snapshot: PeerSnapshot | undefined
  // Each change's snapshot, built only while someone follows (a test, the debug log).
  const changed = yield* PubSub.unbounded<PeerSnapshot>()
  let followers = 0
  const currentSnapshot = (): PeerSnapshot => {
    snapshot ??= { connected: [...peers.keys()], dialling: [...dialling] }
    return snapshot
  }

  /** Applies `transition` to the entry of `address` at `now`; true if the entry changed. */
  const apply = (
    address: Address,
    now: number,
    transition: (entry: PeerTable.PeerEntry | undefined, now: number) => PeerTable.PeerEntry | undefined,
  ): boolean => {
    const before = entries.get(address)
    const after = transition(before, now)
    if (after === undefined || after === before) return false
    entries.set(address, after)
    if (after.state._tag === "Dialling") dialling.add(address)
    else dialling.delete(address)
    if (before?.state !== after.state) {
      snapshot = undefined
      if (followers > 0) changed.unsafeOffer(currentSnapshot())
    }
    return true
  }
  const update = (address: Address, transition: Parameters<typeof apply>[2]) =>
    Clock.clockWith((clock) => Effect.sync(() => void apply(address, clock.unsafeCurrentTimeMillis(), transition)))

  const claim = (address: Address) =>
    Effect.acquireRelease(
      Clock.clockWith((clock) =>
        Effect.sync(() =>
          apply(address, clock.unsafeCurrentTimeMillis(), (entry, now) => PeerTable.claim(entry, address, now)),
        ),
      ),
      (claimed) =>
        claimed ? update(address, (entry, now) => PeerTable.release(entry, "dial ended", now)) : Effect.void,
    )

  const register = (peer: Peer) =>
    Effect.acquireRelease(
      Clock.clockWith((clock) =>
        Effect.sync(() => {
          const mine = serial++
          // Moved to the end: the newest connection.
          peers.delete(peer.address)
          peers.set(peer.address, peer)
          apply(peer.address, clock.unsafeCurrentTimeMillis(), (entry, now) =>
            PeerTable.connect(entry, peer.address, { ...peer, serial: mine }, now),
          )
          return mine
        }),
      ),
      (mine) =>
        Clock.clockWith((clock) =>
          Effect.sync(() => {
            // A newer connection to the same address may have replaced this one: leave it alone.
            if (peers.get(peer.address) === peer) peers.delete(peer.address)
            apply(peer.address, clock.unsafeCurrentTimeMillis(), (entry, now) =>
              PeerTable.release(entry, "connection closed", now, mine),
            )
          }),
        ),
    )

  return PeerStore.of({
    claim,
    register,
    failed: (address, message) => update(address, (entry, now) => PeerTable.failed(entry, address, message, now)),
    backOff: (address, until, failures) =>
      update(address, (entry, now) => PeerTable.backOff(entry, address, until, failures, now)),
    giveUp: (address, failures) => update(address, (entry, now) => PeerTable.giveUp(entry, address, failures, now)),
    peers: Effect.sync(() => [...peers.values()]),
    entries: Effect.sync(() => [...entries.values()]),
    entry: (address) => Effect.sync(() => entries.get(address)),
    snapshot: Effect.sync(currentSnapshot),
    // Subscribed before the current snapshot is read, so no change falls between the two.
    changes: Stream.unwrapScoped(
      Effect.gen(function* () {
        yield* Effect.acquireRelease(
          Effect.sync(() => followers++),
          () => Effect.sync(() => followers--),
        )
        const subscription = yield* PubSub.subscribe(changed)
        return Stream.concat(Stream.succeed(currentSnapshot()), Stream.fromQueue(subscription))
      }),
    ),
  })
})

export const layer = Layer.effect(PeerStore, make)
