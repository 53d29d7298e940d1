import type { Address } from "../domain/Address.js"
import type * as PeerTable from "../domain/PeerTable.js"
import * as PeerLinks from "../domain/peerLinks.js"
import type { PeerSnapshot } from "../services/PeerStore.js"

/**
 * What is read often from the peer table, kept beside its entries so that reading it is cheap: the
 * connected peers in the order they connected and the addresses being dialled (a snapshot, read for
 * every HANDSHAKE we send), and the relay targets (read for every transaction), each built when read,
 * once per change at most. The table tells it of every change of an entry.
 */
export const makePeerTableViews = (entries: ReadonlyMap<Address, PeerTable.PeerEntry>) => {
  const connected = new Map<Address, PeerTable.PeerLink>()
  const dialling = new Set<Address>()
  // The addresses with at least one link, so relay targets are built from these and not every address
  // ever heard of.
  const linked = new Set<Address>()
  let snapshot: PeerSnapshot | undefined
  let targets: ReadonlyArray<PeerLinks.RelayTarget> | undefined

  return {
    /** `link` is the address's newest connection: it moves to the end of the connected peers. */
    connectionOpened: (link: PeerTable.PeerLink): void => {
      connected.delete(link.address)
      connected.set(link.address, link)
    },
    /** `link` closed; a newer connection to the same address may have replaced it, and stays connected. */
    connectionClosed: (link: PeerTable.PeerLink): void => {
      if (connected.get(link.address) === link) connected.delete(link.address)
    },
    /** The entry of `address` changed from `before` to `after` (already in `entries`). */
    entryChanged: (address: Address, before: PeerTable.PeerEntry | undefined, after: PeerTable.PeerEntry): void => {
      if (after.state._tag === "Dialling") dialling.add(address)
      else dialling.delete(address)
      if (before?.state !== after.state) snapshot = undefined
      if (before?.links !== after.links || before.relaysTo !== after.relaysTo || before.leaving !== after.leaving) {
        targets = undefined
      }
      if (before?.links !== after.links) {
        if (after.links.length > 0) linked.add(address)
        else linked.delete(address)
      }
    },
    currentSnapshot: (): PeerSnapshot => {
      snapshot ??= { connected: [...connected.keys()], dialling: [...dialling] }
      return snapshot
    },
    relayTargets: (): ReadonlyArray<PeerLinks.RelayTarget> => {
      targets ??= [...linked].flatMap((address) => {
        const entry = entries.get(address)
        return (entry && PeerLinks.relayTargetOf(entry)) ?? []
      })
      return targets
    },
    /** Every link, oldest first. */
    links: (): Array<PeerTable.PeerLink> =>
      [...linked].flatMap((address) => entries.get(address)?.links ?? []).sort((a, b) => a.serial - b.serial),
  }
}
