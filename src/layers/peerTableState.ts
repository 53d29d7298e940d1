import type { Address } from "../domain/Address.js"
import * as PeerTable from "../domain/PeerTable.js"
import * as PeerLinks from "../domain/peerLinks.js"
import type { LinkEvent, Peer, PeerSnapshot } from "../services/PeerStore.js"

export type Transition = (entry: PeerTable.PeerEntry | undefined, now: number) => PeerTable.PeerEntry | undefined

/**
 * The peer table's data, changed by plain calls, one transition of domain/PeerTable.ts or
 * domain/peerLinks.ts at a time: PeerStoreRef makes each call one synchronous step of an Effect (so it
 * is atomic) and turns the two callbacks into PubSubs.
 */
export const makePeerTableState = (tell: {
  /** The states changed (so did the snapshot); called only while `wanted()` says someone follows. */
  readonly stateChanged: (snapshot: PeerSnapshot) => void
  readonly wanted: () => boolean
  /** An address's links changed. */
  readonly linkChanged: (event: LinkEvent) => void
}) => {
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
      if (tell.wanted()) tell.stateChanged(currentSnapshot())
    }
    if (before?.links !== after.links || before.relaysTo !== after.relaysTo || before.leaving !== after.leaving) {
      targets = undefined
    }
    if (before?.links !== after.links) {
      if (after.links.length > 0) linked.add(address)
      else linked.delete(address)
      tell.linkChanged({ address, change: PeerLinks.linkChangeOf(before, after) })
    }
    return true
  }

  /** Records `peer`'s connection as a link; `connects` also makes the peer connected. */
  const addLink = (peer: Peer, connects: boolean, now: number): PeerTable.PeerLink => {
    const link: PeerTable.PeerLink = { ...peer, serial: serial++ }
    if (connects) {
      // Moved to the end: the newest connection. Before the entry changes, so its snapshot has it.
      connected.delete(peer.address)
      connected.set(peer.address, link)
    }
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
    // A newer connection to the same address may have replaced this one: it stays connected.
    if (connected.get(link.address) === link) connected.delete(link.address)
    apply(link.address, now, (entry, at) => {
      const unlinked = PeerLinks.removeLink(entry, link)
      return connects ? PeerTable.release(unlinked, "connection closed", at, link.serial) : unlinked
    })
  }

  return {
    apply,
    addLink,
    removeLink,
    currentSnapshot,
    relayTargets,
    /** Every link, oldest first. */
    links: () =>
      [...linked].flatMap((address) => entries.get(address)?.links ?? []).sort((a, b) => a.serial - b.serial),
    entries: () => [...entries.values()],
    entry: (address: Address) => entries.get(address),
  }
}
