import { Clock, Effect, Layer, PubSub, Stream } from "effect"
import type { Address } from "../domain/Address.js"
import * as PeerTable from "../domain/PeerTable.js"
import * as PeerLinks from "../domain/peerLinks.js"
import { Limits } from "../services/Limits.js"
import { type LinkEvent, type Peer, type PeerSnapshot, PeerStore } from "../services/PeerStore.js"
import { makePeerTableState, type Transition } from "./peerTableState.js"

/** The table's state changes, for its followers: each change's snapshot is built only while someone follows (a test, the debug log). */
const makeStateFeed = Effect.gen(function* () {
  const changed = yield* PubSub.unbounded<PeerSnapshot>()
  let followers = 0
  return {
    stateChanged: (snapshot: PeerSnapshot) => changed.unsafeOffer(snapshot),
    wanted: () => followers > 0,
    /** The current snapshot, then each change's. */
    follow: (currentSnapshot: () => PeerSnapshot) =>
      // Subscribed before the current snapshot is read, so no change falls between the two.
      Stream.unwrapScoped(
        Effect.gen(function* () {
          yield* Effect.acquireRelease(
            Effect.sync(() => followers++),
            () => Effect.sync(() => followers--),
          )
          const subscription = yield* PubSub.subscribe(changed)
          return Stream.concat(Stream.succeed(currentSnapshot()), Stream.fromQueue(subscription))
        }),
      ),
  }
})

/**
 * PeerStore in memory: each change applies one transition of domain/PeerTable.ts or domain/peerLinks.ts
 * to one entry, as one synchronous step (so it is atomic), and tells followers through PubSubs. A
 * forming mesh changes the table several times per connection: a step, not a lock and a copy of the
 * table each.
 */
export const make = Effect.gen(function* () {
  const feed = yield* makeStateFeed
  const linkEvents = yield* PubSub.unbounded<LinkEvent>()
  const table = makePeerTableState(
    {
      stateChanged: feed.stateChanged,
      wanted: feed.wanted,
      linkChanged: (event) => linkEvents.unsafeOffer(event),
    },
    (yield* Limits).maxRememberedAddresses,
  )
  /** One transition at the Clock's time, as one synchronous step; answers whether the entry changed. */
  const change = (address: Address, transition: Transition) =>
    Effect.map(Clock.currentTimeMillis, (now) => table.apply(address, now, transition))
  const update = (address: Address, transition: Transition) => Effect.asVoid(change(address, transition))

  const claim = (address: Address) =>
    Effect.acquireRelease(
      change(address, (entry, now) => PeerTable.claim(entry, address, now)),
      (claimed) =>
        claimed ? update(address, (entry, now) => PeerTable.release(entry, "dial ended", now)) : Effect.void,
    )

  /** Records `peer`'s connection as a link until the scope closes; `connects` also makes the peer connected. */
  const addLink = (peer: Peer, connects: boolean) =>
    Effect.acquireRelease(
      Effect.map(Clock.currentTimeMillis, (now) => table.addLink(peer, connects, now)),
      (link) => Effect.map(Clock.currentTimeMillis, (now) => table.removeLink(link, connects, now)),
    )

  return PeerStore.of({
    claim,
    register: (peer) => addLink(peer, true),
    link: (peer) => addLink(peer, false),
    markOurs: (address, relaysTo) => update(address, (entry) => PeerLinks.markOurs(entry, relaysTo)),
    leave: (address) => update(address, PeerLinks.leave),
    // A HANDSHAKE's addresses in one step, as one change each.
    queue: (addresses) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        for (const address of addresses) table.apply(address, now, (entry, at) => PeerTable.queue(entry, address, at))
      }),
    unqueue: (address) => update(address, PeerTable.unqueue),
    leadsBack: (address) => update(address, (entry, now) => PeerTable.leadsBack(entry, address, now)),
    failed: (address, message) => update(address, (entry, now) => PeerTable.failed(entry, address, message, now)),
    backOff: (address, wait) => update(address, (entry, now) => PeerTable.backOff(entry, address, wait, now)),
    giveUp: (address, given) => update(address, (entry, now) => PeerTable.giveUp(entry, address, given, now)),
    relayTargets: Effect.sync(table.relayTargets),
    links: Effect.sync(table.links),
    linkEvents: PubSub.subscribe(linkEvents),
    entries: Effect.sync(table.entries),
    entry: (address) => Effect.sync(() => table.entry(address)),
    entriesOf: (addresses) => Effect.sync(() => addresses.map(table.entry)),
    snapshot: Effect.sync(table.currentSnapshot),
    changes: feed.follow(table.currentSnapshot),
  })
})

export const layer = Layer.effect(PeerStore, make)
