import { Effect, Stream } from "effect"
import type { Address } from "../domain/Address.js"
import type { PeerDirection, PeerLink } from "../domain/PeerTable.js"
import * as PeerLinks from "../domain/peerLinks.js"
import type { PeerStoreShape } from "../services/PeerStore.js"

/** The links as observers see them (tests, the peer budget). */
export interface LinkSnapshot {
  /** Every link, oldest first. */
  readonly links: ReadonlyArray<Pick<PeerLink, "address" | "direction" | "serial">>
  /** The addresses transactions are relayed to: each linked address once. */
  readonly relayTo: ReadonlyArray<Address>
}

/** What the rest of the node reads of the links in the peer table (links.ts makes and drops them). */
export const makeLinkViews = (peers: PeerStoreShape) => {
  const linksOf = (address: Address) =>
    Effect.map(peers.entry(address), (entry): ReadonlyArray<PeerLink> => entry?.links ?? [])
  const ours = Effect.map(peers.relayTargets, (targets) => targets.filter((target) => target.ours))
  const snapshot = Effect.zipWith(
    peers.links,
    peers.relayTargets,
    (links, targets): LinkSnapshot => ({
      links: links.map(({ address, direction, serial }) => ({ address, direction, serial })),
      relayTo: targets.map((target) => target.address),
    }),
  )
  return {
    linksOf,
    /** Those of `addresses` we have no link to, in one read of the table. */
    unlinked: (addresses: ReadonlyArray<Address>) =>
      Effect.map(peers.entriesOf(addresses), (entries) =>
        addresses.filter((_, i) => (entries[i]?.links.length ?? 0) === 0),
      ),
    /** Whether we have a link to `address`, in either direction. */
    has: (address: Address) => Effect.map(linksOf(address), (links) => links.length > 0),
    /** Whether we have an outbound link to `address` (a connection we dialled, handshake sent). */
    hasOutbound: (address: Address) => Effect.map(peers.entry(address), PeerLinks.hasOutboundLink),
    /** Links by direction (a peer linked both ways counts twice). */
    count: (direction: PeerDirection) =>
      Effect.map(peers.links, (links) => links.filter((link) => link.direction === direction).length),
    /** How many peers `address` last told us it relays to, if it told us. */
    viewSize: (address: Address) => Effect.map(peers.entry(address), (entry) => entry?.relaysTo),
    /** The addresses we are dropping on purpose (MAX_PEERS) whose links are not closed yet. */
    leaving: Effect.map(
      peers.relayTargets,
      (targets): ReadonlySet<Address> => new Set(targets.flatMap((target) => (target.leaving ? [target.address] : []))),
    ),
    /** The addresses we relay on that are nodes of ours (those that take our SYNC_ and PEERS frames). */
    ours: Effect.map(ours, (targets) => targets.map((target) => target.address)),
    /** Sends `frame` (one of ours: SYNC_, PEERS) on the links of `addresses` we relay on, to our nodes only. */
    sendTo: (addresses: ReadonlyArray<Address>, frame: string) =>
      Effect.flatMap(ours, (targets) =>
        Effect.forEach(
          targets.filter((target) => addresses.includes(target.address)),
          (target) => target.send(frame),
          { discard: true },
        ),
      ),
    snapshot,
    /** The current snapshot, then every change (changes in a burst may come as one). */
    changes: Stream.unwrapScoped(
      Effect.map(peers.linkEvents, (subscription) =>
        Stream.concat(
          Stream.fromEffect(snapshot),
          Stream.mapEffect(Stream.fromQueue(subscription), () => snapshot),
        ),
      ),
    ),
  }
}
