import { Effect, Queue } from "effect"
import type { Address, AddressParser } from "../domain/Address.js"
import type { PeerDirection, PeerLink } from "../domain/PeerTable.js"
import type { GossipMode } from "../services/NodeConfig.js"
import { PeerStore, type PeerStoreShape } from "../services/PeerStore.js"
import type { Connection } from "../services/Transport.js"
import { type Announcer, makeAnnouncer } from "./announce.js"
import { inboundLink, type LinkContext, outboundLink } from "./connectionLink.js"
import { makeLinkViews } from "./linkViews.js"

export type { ConnectionLink, RelayFrames } from "./connectionLink.js"

export type { LinkSnapshot } from "./linkViews.js"

/**
 * The peers a node relays transactions to, and what each of them told us it relays to (docs/scaling.md).
 * The links themselves are entries of the peer table (PeerStore); this module makes and drops them.
 *
 * A link is a connection whose peer's address we know: every outbound connection (the address we
 * dialled) and every inbound one whose peer named itself, in its HANDSHAKE (an adopted connection:
 * pairing.ts) or a PEERS message (our nodes do; spec nodes never do, and they keep being reached
 * through our outbound connections to them, as the spec wants).
 * A node relays on one link per address, its outbound one if it has both.
 *
 * With `pruned` gossip a node that accepts a new transaction from peer P skips P and every node of
 * ours (one that sent us PEERS) that P listed in its last PEERS on the same connection: P sends to
 * those itself. Spec nodes are never skipped: each of their peers sends them every transaction, as the
 * spec's relay does. A node sends its PEERS
 * announcements on the very link it relays transactions on, so each connection delivers a peer's
 * list before the transactions that depend on it. Whoever sent it, P accepted it first, so by
 * induction every peer of every node that accepts it gets it, as long as each listed set is one the
 * peer really sends to. A node that drops a peer on purpose tells its other peers first; otherwise a
 * lost link leaves the sets listing it stale until the next announcement, so the two ends of every
 * lost link catch up with other peers afterwards (resync.ts).
 */

export interface LinksOptions {
  /** Our own advertised address: never a link, and the address our PEERS names. */
  readonly self: Address
  readonly gossip: GossipMode
  /** How long to wait after the links change before telling peers: start-up brings many changes at once. */
  readonly announceDelayMillis: number
  /**
   * Addresses a peer listed in PEERS, relayed to or known, and the IP of the connection they came on
   * (the peer budget passes some of them to the address book).
   */
  readonly onListed: (addresses: ReadonlyArray<Address>, source: string | undefined) => Effect.Effect<void>
  /** Other addresses to tell peers about (the peer budget's random picks; none in a full mesh). */
  readonly sample: Effect.Effect<ReadonlyArray<Address>>
  /** The node's cached address parser, shared with its HANDSHAKE handler. */
  readonly parse: AddressParser
  /** Whether the node is dialling `address` (its connection will carry our relay set). */
  readonly isDialling: (address: Address) => boolean
}

/**
 * Follows the peer table's link changes for as long as the scope lasts: each one goes to the announcer,
 * and the nodes of ours we lost our last link to are queued for resync.ts (the queue returned).
 */
const followLinkChanges = (peers: PeerStoreShape, announcer: Announcer) =>
  Effect.gen(function* () {
    // Addresses we no longer have a link to, for resync.ts.
    const lost = yield* Queue.sliding<Address>(64)
    // Subscribed now, before any link is made, so no change is missed.
    const events = yield* peers.linkEvents
    yield* Effect.forkScoped(
      Effect.forever(
        Effect.flatMap(Queue.take(events), ({ address, change, ours }) => {
          announcer.noteChange(change)
          // Nobody counts on our link to a spec peer, and a spec peer cannot catch up: no resync.
          return change === "lost" && ours ? Queue.offer(lost, address) : Effect.void
        }),
      ),
    )
    return lost
  })

export const makeLinks = (options: LinksOptions) =>
  Effect.gen(function* () {
    const peers = yield* PeerStore
    const announcer = yield* makeAnnouncer(peers, options)
    const { announce, sendPeers } = announcer
    const lost = yield* followLinkChanges(peers, announcer)
    const context: LinkContext = { peers, sendPeers, ...options }
    const views = makeLinkViews(peers)
    const { linksOf } = views

    /** Closes the links to `address` that `which` picks. */
    const closeLinks = (address: Address, which: (link: PeerLink) => boolean) =>
      Effect.flatMap(linksOf(address), (links) =>
        Effect.forEach(links.filter(which), (link) => link.close, { discard: true }),
      )

    return {
      ...views,
      /**
       * An outbound connection to `address`, after its HANDSHAKE: a link until the scope closes
       * (connectionLink.ts).
       */
      outbound: (address: Address, connection: Connection) => outboundLink(context, address, connection),
      /** An inbound connection: a link once its peer names itself, until the scope closes. */
      inbound: (connection: Connection) => inboundLink(context, connection),
      /**
       * Closes every link to `address` on purpose. Our other peers hear first that we no longer relay
       * to it (so none counts on us for it), and it gets our relay set, to know where else to go.
       */
      drop: (address: Address) =>
        Effect.flatMap(linksOf(address), (links) =>
          links.length === 0
            ? Effect.void
            : peers.leave(address).pipe(Effect.zipRight(announce), Effect.zipRight(closeLinks(address, () => true))),
        ),
      /** Closes one link. */
      close: (address: Address, direction: PeerDirection) =>
        closeLinks(address, (link) => link.direction === direction),
      /** Waits for a peer we lost our last link to. */
      lost: Queue.take(lost),
      /** The peers lost that nobody has taken yet. */
      lostSince: Queue.takeAll(lost),
    }
  })

export type Links = Effect.Effect.Success<ReturnType<typeof makeLinks>>
