import { Clock, Effect, Layer, PubSub, Stream } from "effect"
import type { Address } from "../domain/Address.js"
import * as PeerTable from "../domain/PeerTable.js"
import * as PeerLinks from "../domain/peerLinks.js"
import { type LinkEvent, type Peer, type PeerSnapshot, PeerStore } from "../services/PeerStore.js"

type Transition = (entry: PeerTable.PeerEntry | undefined, now: number) => PeerTable.PeerEntry | undefined

/**
 * PeerStore in memory: each change applies one transition of domain/PeerTable.ts or domain/peerLinks.ts
 * to one entry, as one synchronous step (so it is atomic), and tells followers through PubSubs. A
 * forming mesh changes the table several times per connection: a step, not a lock and a copy of the
 * table each.
 */
export const make = Effect.gen(function* () {
  const entries = new Map<Address, PeerTable.PeerEntry>()
  // Kept beside the entries, so that what is read often is cheap: the connected peers in the order
  // they connected and the addresses being dialled (a snapshot, read for every HANDSHAKE we send), and
  // the relay targets (read for every transaction), each built when read, once per change at most.
  const connected = new Map<Address, PeerTable.PeerLink>()
  const dialling = new Set<Address>()
  // The addresses with at least one link, so relay targets are built from these and not every address
  // ever heard of.
  const linked = new Set<Address>()
  let serial = 0
  let snapshot: PeerSnapshot | undefined
  let targets: ReadonlyArray<PeerLinks.RelayTarget> | undefined
  // Each change's snapshot, built only while someone follows (a test, the debug log).
  const changed = yield* PubSub.unbounded<PeerSnapshot>()
  let followers = 0
  const linkEvents = yield* PubSub.unbounded<LinkEvent>()
  const currentSnapshot = (): PeerSnapshot => {
    snapshot ??= { connected: [...connected.keys()], dialling: [...dialling] }
    return snapshot
  }
  const relayTargets = (): ReadonlyArray<PeerLinks.RelayTarget> => {
    targets ??= [...linked].flatMap((address) => {
      const entry = entries.get(address)
      return (entry && PeerLinks.relayTargetOf(entry)) ?? []
    })
    return targets
  }

  /** Applies `transition` to the entry of `address` at `now`; true if the entry changed. */
  const apply = (address: Address, now: number, transition: Transition): boolean => {
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
    if (before?.links !== after.links || before.relaysTo !== after.relaysTo || before.leaving !== after.leaving) {
      targets = undefined
    }
    if (before?.links !== after.links) {
      if (after.links.length > 0) linked.add(address)
      else linked.delete(address)
      linkEvents.unsafeOffer({ address, change: PeerLinks.linkChangeOf(before, after) })
    }
    return true
  }
  const update = (address: Address, transition: Transition) =>
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

  /** Records `peer`'s connection as a link until the scope closes; `connects` also makes the peer connected. */
  const addLink = (peer: Peer, connects: boolean) =>
    Effect.acquireRelease(
      Clock.clockWith((clock) =>
        Effect.sync(() => {
          const link: PeerTable.PeerLink = { ...peer, serial: serial++ }
          if (connects) {
            // Moved to the end: the newest connection. Before the entry changes, so its snapshot has it.
            connected.delete(peer.address)
            connected.set(peer.address, link)
          }
          const { direction, kind } = link
          apply(peer.address, clock.unsafeCurrentTimeMillis(), (entry, now) => {
            const linked = PeerLinks.addLink(entry, link, now)
            return connects
              ? PeerTable.connect(linked, link.address, { direction, kind, serial: link.serial }, now)
              : linked
          })
          return link
        }),
      ),
      (link) =>
        Clock.clockWith((clock) =>
          Effect.sync(() => {
            // A newer connection to the same address may have replaced this one: it stays connected.
            if (connected.get(link.address) === link) connected.delete(link.address)
            apply(link.address, clock.unsafeCurrentTimeMillis(), (entry, now) => {
              const unlinked = PeerLinks.removeLink(entry, link)
              return connects ? PeerTable.release(unlinked, "connection closed", now, link.serial) : unlinked
            })
          }),
        ),
    )

  return PeerStore.of({
    claim,
    register: (peer) => addLink(peer, true),
    link: (peer) => addLink(peer, false),
    markOurs: (address, relaysTo) => update(address, (entry) => PeerLinks.markOurs(entry, relaysTo)),
    leave: (address) => update(address, PeerLinks.leave),
    failed: (address, message) => update(address, (entry, now) => PeerTable.failed(entry, address, message, now)),
    backOff: (address, until, failures) =>
      update(address, (entry, now) => PeerTable.backOff(entry, address, until, failures, now)),
    giveUp: (address, failures) => update(address, (entry, now) => PeerTable.giveUp(entry, address, failures, now)),
    relayTargets: Effect.sync(relayTargets),
    links: Effect.sync(() =>
      [...linked].flatMap((address) => entries.get(address)?.links ?? []).sort((a, b) => a.serial - b.serial),
    ),
    linkEvents: PubSub.subscribe(linkEvents),
    entries: Effect.sync(() => [...entries.values()]),
    entry: (address) => Effect.sync(() => entries.get(address)),
    entriesOf: (addresses) => Effect.sync(() => addresses.map((address) => entries.get(address))),
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
