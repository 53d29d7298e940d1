import type { Effect } from "effect"
import type { Address } from "../domain/Address.js"
import type { Connection } from "../services/Transport.js"

export type LinkDirection = "outbound" | "inbound"

export interface Link {
  readonly address: Address
  readonly direction: LinkDirection
  readonly send: (frame: string) => Effect.Effect<void>
  readonly close: Effect.Effect<void>
  /**
   * Whether the peer identified itself as a node of ours when the connection opened (its node id):
   * only such peers, and those that send us PEERS, get more than the spec's HANDSHAKE and TRANSACTION.
   */
  readonly ours: boolean
  /** Increases with every link made, so the newest link is known. */
  readonly serial: number
}

/** A link as observers see it. */
export interface LinkInfo {
  readonly address: Address
  readonly direction: LinkDirection
  readonly serial: number
}

export interface LinkSnapshot {
  /** Every link, oldest first. */
  readonly links: ReadonlyArray<LinkInfo>
  /** The addresses transactions are relayed to: each linked address once. */
  readonly relayTo: ReadonlyArray<Address>
}

/** What a change did to the addresses we relay to: one was added or lost, or only its links changed. */
export type LinkChange = "gained" | "lost" | "same"

/**
 * The node's links as plain state (links.ts has the rules): the links of each address, the one each
 * address is relayed on (its outbound one if it has both), and the peers known to be ours. Every
 * change is one synchronous step, so fibers cannot interleave in it; `onChange` hears of each.
 */
export const makeLinkTable = (onChange: (change: LinkChange) => void) => {
  const byAddress = new Map<Address, Array<Link>>()
  // The linked peers that sent PEERS, so are our nodes, and how many peers each last said it relays
  // to (the peer budget prefers to drop big ones).
  const ours = new Map<Address, number>()
  // The link each address is relayed on, and the same as a list.
  const relayLinks = new Map<Address, Link>()
  let targets: ReadonlyArray<Link> = []
  let serial = 0
  // Addresses being dropped on purpose: no longer announced, still relayed to until closed.
  const leaving = new Set<Address>()

  /** After a change of `address`'s links: which link it is relayed on. */
  const refresh = (address: Address): void => {
    const links = byAddress.get(address) ?? []
    const chosen = links.find((link) => link.direction === "outbound") ?? links[0]
    const before = relayLinks.get(address)
    if (chosen !== before) {
      if (chosen === undefined) relayLinks.delete(address)
      else relayLinks.set(address, chosen)
      targets = [...relayLinks.values()]
    }
    if (before === undefined) onChange(chosen === undefined ? "same" : "gained")
    else onChange(chosen === undefined ? "lost" : "same")
  }

  // A node of ours: it said so with its node id, or by sending PEERS (which no spec node sends).
  const isOurs = (link: Link) => link.ours || ours.has(link.address)

  return {
    isOurs,
    /** The links we relay on, each address once. */
    targets: (): ReadonlyArray<Link> => targets,
    /** Spec peers read every frame's `data` as an address list: PEERS and SYNC_ go to these only. */
    oursOf: (links: ReadonlyArray<Link>) => links.filter(isOurs),
    add: (address: Address, direction: LinkDirection, connection: Connection): Link => {
      const link: Link = {
        address,
        direction,
        send: connection.send,
        close: connection.close,
        ours: direction === "inbound" || connection.peerNodeId !== undefined,
        serial: serial++,
      }
      byAddress.set(address, [...(byAddress.get(address) ?? []), link])
      refresh(address)
      return link
    },
    /** Removes `link`; true if it was the last link to its address. */
    remove: (link: Link): boolean => {
      const rest = (byAddress.get(link.address) ?? []).filter((other) => other !== link)
      if (rest.length > 0) {
        byAddress.set(link.address, rest)
        refresh(link.address)
        return false
      }
      byAddress.delete(link.address)
      ours.delete(link.address)
      leaving.delete(link.address)
      refresh(link.address)
      return true
    },
    linksOf: (address: Address): ReadonlyArray<Link> => byAddress.get(address) ?? [],
    has: (address: Address) => byAddress.has(address),
    hasOutbound: (address: Address) => byAddress.get(address)?.some((link) => link.direction === "outbound") === true,
    /** Links by direction (a peer linked both ways counts twice). */
    count: (direction: LinkDirection) => {
      let n = 0
      for (const links of byAddress.values()) for (const link of links) if (link.direction === direction) n++
      return n
    },
    /** The peer at `address` sent PEERS listing `size` peers: it is ours. */
    markOurs: (address: Address, size: number) => {
      ours.set(address, size)
    },
    /** How many peers `address` last told us it relays to, if it told us. */
    viewSize: (address: Address) => ours.get(address),
    isOursAddress: (address: Address) => ours.has(address),
    leave: (address: Address) => {
      leaving.add(address)
    },
    isLeaving: (address: Address) => leaving.has(address),
    snapshot: (): LinkSnapshot => ({
      links: [...byAddress.values()]
        .flat()
        .sort((a, b) => a.serial - b.serial)
        .map(({ address, direction, serial }) => ({ address, direction, serial })),
      relayTo: targets.map((link) => link.address),
    }),
  }
}

export type LinkTable = ReturnType<typeof makeLinkTable>
