import { Effect, PubSub, Queue, Scope, Stream } from "effect"
import type { Address, AddressParser } from "../domain/Address.js"
import type { GossipMode } from "../services/NodeConfig.js"
import type { Connection } from "../services/Transport.js"
import { makeAnnouncer } from "./announce.js"
import { type ConnectionLink, type LinkContext, makeConnectionLink } from "./connectionLink.js"
import { type Link, type LinkDirection, makeLinkTable } from "./linkTable.js"

export type { ConnectionLink, RelayFrames } from "./connectionLink.js"
export type { LinkDirection, LinkSnapshot } from "./linkTable.js"

/**
 * The peers a node relays transactions to, and what each of them told us it relays to (docs/scaling.md).
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

export const makeLinks = (options: {
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
}) =>
  Effect.gen(function* () {
    // Told of every change; snapshots are built only when someone reads one.
    const version = yield* PubSub.unbounded<void>()
    const table = makeLinkTable((change) => {
      version.unsafeOffer(undefined)
      announcer.noteChange(change)
    })
    const announcer = yield* makeAnnouncer(table, options)
    const { announce, sendPeers } = announcer
    // Addresses we no longer have a link to, for resync.ts.
    const lost = yield* Queue.sliding<Address>(64)
    const context: LinkContext = { table, ...options }

    // The lost queue slides (the oldest address goes when it is full): an offer, not a plain call.
    const release = (link: Link) =>
      Effect.suspend(() => (table.remove(link) ? Queue.offer(lost, link.address) : Effect.void))

    /**
     * An outbound connection to `address`, after its HANDSHAKE: tells the peer our relay set (which
     * also tells it who we are) and relays on it until the scope closes.
     */
    const outbound = (address: Address, connection: Connection): Effect.Effect<ConnectionLink, never, Scope.Scope> =>
      Effect.gen(function* () {
        // A spec node gets nothing but the spec's frames; it never needs our relay set either.
        if (connection.peerNodeId !== undefined) yield* sendPeers(connection.send)
        yield* Effect.acquireRelease(
          Effect.sync(() => table.add(address, "outbound", connection)),
          release,
        )
        return makeConnectionLink(
          context,
          connection,
          () => address,
          () => Effect.void,
        )
      })

    /**
     * An inbound connection: a link once its peer names itself in PEERS, until the scope closes. If we
     * have no outbound connection to that peer, we relay on this one and tell it our relay set.
     */
    const inbound = (connection: Connection): Effect.Effect<ConnectionLink, never, Scope.Scope> =>
      Effect.gen(function* () {
        let named: Link | undefined
        yield* Effect.flatMap(Effect.scope, (scope) =>
          Scope.addFinalizer(
            scope,
            Effect.suspend(() => (named === undefined ? Effect.void : release(named))),
          ),
        )
        const identify = (address: Address) =>
          Effect.gen(function* () {
            const hadOutbound = table.hasOutbound(address)
            named = table.add(address, "inbound", connection)
            yield* Effect.annotateCurrentSpan({ peer: address })
            yield* Effect.logDebug("inbound peer named itself").pipe(Effect.annotateLogs({ peer: address }))
            // Our relay set goes to the peer with the first frames of our own connection to it, if we are
            // dialling it (in a forming mesh, nearly always: its HANDSHAKE named it). If that dial fails,
            // the announcement of this new link tells it; until then it just prunes less.
            if (!hadOutbound && !options.isDialling(address)) yield* sendPeers(connection.send)
          })
        return makeConnectionLink(context, connection, () => named?.address, identify)
      })

    /** Closes the links to `address` that `which` picks. */
    const closeLinks = (address: Address, which: (link: Link) => boolean) =>
      Effect.forEach(table.linksOf(address).filter(which), (link) => link.close, { discard: true })

    return {
      outbound,
      inbound,
      /** Whether we have a link to `address`, in either direction. */
      has: table.has,
      /** Whether we have an outbound link to `address` (a connection we dialled, handshake sent). */
      hasOutbound: table.hasOutbound,
      /** Links by direction (a peer linked both ways counts twice). */
      count: table.count,
      /** How many peers `address` last told us it relays to, if it told us. */
      viewSize: table.viewSize,
      /**
       * Closes every link to `address` on purpose. Our other peers hear first that we no longer relay
       * to it (so none counts on us for it), and it gets our relay set, to know where else to go.
       */
      drop: (address: Address) =>
        Effect.suspend(() => {
          if (!table.has(address)) return Effect.void
          table.leave(address)
          return announce.pipe(Effect.zipRight(closeLinks(address, () => true)))
        }),
      /** Waits for a peer we lost our last link to. */
      lost: Queue.take(lost),
      /** The peers lost that nobody has taken yet. */
      lostSince: Queue.takeAll(lost),
      /** The addresses we relay on that are nodes of ours (those that take our SYNC_ and PEERS frames). */
      ours: Effect.sync(() => table.oursOf(table.targets()).map((link) => link.address)),
      /** Sends `frame` (one of ours: SYNC_, PEERS) on the links of `addresses` we relay on, to our nodes only. */
      sendTo: (addresses: ReadonlyArray<Address>, frame: string) =>
        Effect.forEach(
          table.oursOf(table.targets()).filter((link) => addresses.includes(link.address)),
          (link) => link.send(frame),
          { discard: true },
        ),
      /** Closes one link. */
      close: (address: Address, direction: LinkDirection) =>
        closeLinks(address, (link) => link.direction === direction),
      snapshot: Effect.sync(table.snapshot),
      /** The current snapshot, then every change (changes in a burst may come as one). */
      changes: Stream.unwrapScoped(
        Effect.map(PubSub.subscribe(version), (subscription) =>
          Stream.concat(Stream.sync(table.snapshot), Stream.map(Stream.fromQueue(subscription), table.snapshot)),
        ),
      ),
    }
  })

export type Links = Effect.Effect.Success<ReturnType<typeof makeLinks>>
