import type { Address } from "../domain/Address.js"
import * as PeerTable from "../domain/PeerTable.js"
import * as PeerLinks from "../domain/peerLinks.js"
import type { LinkEvent, Peer, PeerSnapshot } from "../services/PeerStore.js"
import { makePeerTableViews } from "./peerTableViews.js"

export type Transition = (entry: PeerTable.PeerEntry | undefined, now: number) => PeerTable.PeerEntry | undefined

/** Whom the table tells of its changes. */
export interface PeerTableListeners {
  /** The states changed (so did the snapshot); called only while `wanted()` says someone follows. */
  readonly stateChanged: (snapshot: PeerSnapshot) => void
  readonly wanted: () => boolean
  /** An address's links changed. */
  readonly linkChanged: (event: LinkEvent) => void
}

/**
 * Keeps `entries` bounded: notes after each change whether an entry may be forgotten
 * (PeerTable.isForgettable), and past `maxForgettable` such entries forgets the oldest, so no stream
 * of listed addresses grows the table for good.
 */
const makeBound = (entries: Map<Address, PeerTable.PeerEntry>, maxForgettable: number) => {
  // The entries that may be forgotten, by address, oldest first.
  const forgettable = new Set<Address>()
  return (address: Address, entry: PeerTable.PeerEntry) => {
    forgettable.delete(address)
    if (!PeerTable.isForgettable(entry)) return
    forgettable.add(address)
    if (forgettable.size <= maxForgettable) return
    const [oldest] = forgettable
    if (oldest === undefined) return
    forgettable.delete(oldest)
    entries.delete(oldest)
  }
}

/** What a change of an entry did to its links, if they changed (for a loss, whether the peer was ours). */
const linkEventOf = (
  address: Address,
  before: PeerTable.PeerEntry | undefined,
  after: PeerTable.PeerEntry,
): LinkEvent | undefined => {
  if (before?.links === after.links) return undefined
  const change = PeerLinks.linkChangeOf(before, after)
  return { address, change, ours: PeerLinks.isOurs(change === "lost" ? before : after) }
}

/**
 * The peer table's data, changed by plain calls, one transition of domain/PeerTable.ts or
 * domain/peerLinks.ts at a time: PeerStoreRef makes each call one synchronous step of an Effect (so it
 * is atomic) and turns the two callbacks into PubSubs.
 */
export const makePeerTableState = (tell: PeerTableListeners, maxForgettable = Number.POSITIVE_INFINITY) => {
  const entries = new Map<Address, PeerTable.PeerEntry>()
  const keepBounded = makeBound(entries, maxForgettable)
  const views = makePeerTableViews(entries)
  let serial = 0

  /** Applies `transition` to the entry of `address` at `now`; true if the entry changed. */
  const apply = (address: Address, now: number, transition: Transition): boolean => {
    const before = entries.get(address)
    const after = transition(before, now)
    if (after === undefined || after === before) return false
    entries.set(address, after)
    keepBounded(address, after)
    views.entryChanged(address, before, after)
    if (before?.state !== after.state && tell.wanted()) tell.stateChanged(views.currentSnapshot())
    const event = linkEventOf(address, before, after)
    if (event !== undefined) tell.linkChanged(event)
    return true
  }

  /** Records `peer`'s connection as a link; `connects` also makes the peer connected. */
  const addLink = (peer: Peer, connects: boolean, now: number): PeerTable.PeerLink => {
    const link: PeerTable.PeerLink = { ...peer, serial: serial++ }
    // Before the entry changes, so its snapshot has it.
    if (connects) views.connectionOpened(link)
    const { direction, kind } = link
    apply(peer.address, now, (entry, at) => {
      const withLink = PeerLinks.addLink(entry, link, at)
      return connects
        ? PeerTable.connect(withLink, link.address, { direction, kind, serial: link.serial }, at)
        : withLink
    })
    return link
  }

  /** Removes a link `addLink` made, with the same `connects`. */
  const removeLink = (link: PeerTable.PeerLink, connects: boolean, now: number): void => {
    views.connectionClosed(link)
    apply(link.address, now, (entry, at) => {
      const unlinked = PeerLinks.removeLink(entry, link)
      return connects ? PeerTable.release(unlinked, "connection closed", at, link.serial) : unlinked
    })
  }

  return {
    apply,
    addLink,
    removeLink,
    currentSnapshot: views.currentSnapshot,
    relayTargets: views.relayTargets,
    links: views.links,
    entries: () => [...entries.values()],
    entry: (address: Address) => entries.get(address),
  }
}
