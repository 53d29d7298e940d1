import type { Effect } from "effect"
import type { Address } from "./Address.js"
import { heardOf, type PeerEntry, type PeerLink } from "./PeerTable.js"

/**
 * The links of a peer table entry, as pure functions: which connections we relay on to an address, which
 * of them carries our relay, and whether the peer is a node of ours (docs/scaling.md). The PeerStore
 * layer applies them; an entry's links change apart from its dial state (connected, backing off, …).
 */

/** Where a transaction goes on: the one link an address is relayed on, and what kind of peer it is. */
export interface RelayTarget {
  readonly address: Address
  readonly send: (frame: string) => Effect.Effect<void>
  /** A node of ours: it gets our frames (PEERS, SYNC_, trace context); a spec peer gets the spec's only. */
  readonly ours: boolean
  /** It told us in PEERS whom it relays to, so a peer that lists it can count on it (pruned gossip). */
  readonly announced: boolean
  /** Being dropped on purpose: still relayed to, no longer in our PEERS. */
  readonly leaving: boolean
}

/** What a change of links did to the addresses we relay to: one was gained or lost, or only its links moved. */
export type LinkChange = "gained" | "lost" | "same"

/** The link an address is relayed on: its outbound one if it has both. */
export const relayLinkOf = (entry: PeerEntry | undefined): PeerLink | undefined =>
  entry?.links.find((link) => link.direction === "outbound") ?? entry?.links[0]

/** The relay target of an entry, if it has a link. */
export const relayTargetOf = (entry: PeerEntry): RelayTarget | undefined => {
  const link = relayLinkOf(entry)
  if (link === undefined) return undefined
  const announced = entry.relaysTo !== undefined
  const ours = link.kind === "ours" || announced
  return { address: entry.address, send: link.send, ours, announced, leaving: entry.leaving === true }
}

/** `link` opened: the entry has one more link (an address heard of only now is known). */
export const addLink = (entry: PeerEntry | undefined, link: PeerLink, now: number): PeerEntry => {
  const before = entry ?? heardOf(link.address, now)
  return { ...before, links: [...before.links, link] }
}

/**
 * `link` closed: the entry has one link fewer. With the last one gone, what the peer told us over them
 * is forgotten, and so is a drop under way.
 */
export const removeLink = (entry: PeerEntry | undefined, link: PeerLink): PeerEntry | undefined => {
  if (entry === undefined || !entry.links.includes(link)) return entry
  const links = entry.links.filter((other) => other !== link)
  if (links.length > 0) return { ...entry, links }
  const { relaysTo: _relaysTo, leaving: _leaving, ...rest } = entry
  return { ...rest, links }
}

/** The change a link's arrival or departure made, from the entry before and after it. */
export const linkChangeOf = (before: PeerEntry | undefined, after: PeerEntry | undefined): LinkChange => {
  const had = (before?.links.length ?? 0) > 0
  const has = (after?.links.length ?? 0) > 0
  return had === has ? "same" : has ? "gained" : "lost"
}

/**
 * Whether the entry's peer is a node of ours, as its relay link says: other peers of ours may count
 * on that link (pruned gossip), a spec peer's nobody does.
 */
export const isOurs = (entry: PeerEntry | undefined): boolean =>
  entry !== undefined && relayTargetOf(entry)?.ours === true

/** The peer sent PEERS listing `size` peers on one of its links: it is a node of ours. */
export const markOurs = (entry: PeerEntry | undefined, size: number): PeerEntry | undefined =>
  entry === undefined || entry.links.length === 0 ? entry : { ...entry, relaysTo: size }

/** We are dropping the peer on purpose: it is no longer announced. */
export const leave = (entry: PeerEntry | undefined): PeerEntry | undefined =>
  entry === undefined || entry.links.length === 0 ? entry : { ...entry, leaving: true }

export const hasOutboundLink = (entry: PeerEntry | undefined): boolean =>
  entry?.links.some((link) => link.direction === "outbound") === true
