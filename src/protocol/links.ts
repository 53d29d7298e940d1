import { Chunk, Clock, Effect, Either, PubSub, Queue, Scope, Stream } from "effect"
import type { Address, AddressParser } from "../domain/Address.js"
import { encodeFrame, MAX_PEERS_LISTED, type Peers } from "../domain/Message.js"
import type { GossipMode } from "../services/NodeConfig.js"
import { NodeStats } from "../services/NodeStats.js"
import type { Connection } from "../services/Transport.js"

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

export type LinkDirection = "outbound" | "inbound"

/** While peers keep coming, an announcement waits at most this many announcement delays. */
const announceSettleFactor = 4

interface Link {
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

/**
 * A transaction as each kind of peer gets it: a node of ours with our trace context when we propagate
 * traces; a peer not known to be ours exactly the spec's `{ type, data }` (docs/peer-states.md).
 */
export interface RelayFrames {
  readonly forOurs: string
  readonly forSpec: string
}

/** What the frame handlers of one connection need from the link table. */
export interface ConnectionLink {
  /**
   * Sends a TRANSACTION frame that arrived on this connection on to the relay targets (all of them
   * in `flood` mode; with `pruned`, those this connection's peer does not reach itself). Answers how
   * many frames it sent.
   */
  readonly relay: (frames: RelayFrames) => Effect.Effect<number>
  /** A PEERS message that arrived on this connection. */
  readonly onPeers: (message: Peers) => Effect.Effect<void>
  /**
   * Names the peer of an inbound connection before its PEERS does (its HANDSHAKE did: pairing.ts).
   * Nothing once the peer is named, or on an outbound connection.
   */
  readonly name: (address: Address) => Effect.Effect<void>
}

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
    const stats = yield* NodeStats
    const byAddress = new Map<Address, Array<Link>>()
    // The linked peers that sent PEERS, so are our nodes, and how many peers each last said it relays
    // to (the peer budget prefers to drop big ones).
    const ours = new Map<Address, number>()
    // The link each address is relayed on (its outbound one if any), and the same as a list.
    const relayLinks = new Map<Address, Link>()
    let targets: ReadonlyArray<Link> = []
    let serial = 0
    // Told of every change; snapshots are built only when someone reads one.
    const version = yield* PubSub.unbounded<void>()
    const changed = yield* Queue.sliding<void>(1)
    // Whether a peer was lost since the last announcement: peers may then count on us for it.
    let shrunk = false
    // Addresses being dropped on purpose: no longer announced, still relayed to until closed.
    const leaving = new Set<Address>()
    // Addresses we no longer have a link to, for resync.ts.
    const lost = yield* Queue.sliding<Address>(64)

    // A node of ours: it said so with its node id, or by sending PEERS (which no spec node sends).
    const isOurs = (link: Link) => link.ours || ours.has(link.address)
    // Spec peers read every frame's `data` as an address list: PEERS and SYNC_ go to our nodes only.
    const oursOf = (links: ReadonlyArray<Link>) => links.filter(isOurs)

    const peersFrame = Effect.map(options.sample, (known) => {
      const peers: Array<Address> = []
      for (const link of targets) {
        if (peers.length < MAX_PEERS_LISTED && !leaving.has(link.address)) peers.push(link.address)
      }
      const data = known.length > 0 ? { address: options.self, peers, known } : { address: options.self, peers }
      return encodeFrame({ type: "PEERS", data } satisfies Peers)
    })

    /**
     * After a change of `address`'s links: which link it is relayed on, then tell observers and peers.
     * Plain calls, like `add` and `remove`: a link is made and dropped once per connection.
     */
    const refresh = (address: Address): void => {
      const links = byAddress.get(address) ?? []
      const chosen = links.find((link) => link.direction === "outbound") ?? links[0]
      const before = relayLinks.get(address)
      if (chosen !== before) {
        if (chosen === undefined) relayLinks.delete(address)
        else relayLinks.set(address, chosen)
        targets = [...relayLinks.values()]
      }
      version.unsafeOffer(undefined)
      if ((before === undefined) !== (chosen === undefined)) {
        if (chosen === undefined) shrunk = true
        changed.unsafeOffer(undefined)
      }
    }

    const currentSnapshot = (): LinkSnapshot => ({
      links: [...byAddress.values()]
        .flat()
        .sort((a, b) => a.serial - b.serial)
        .map(({ address, direction, serial }) => ({ address, direction, serial })),
      relayTo: targets.map((link) => link.address),
    })

    const add = (address: Address, direction: LinkDirection, connection: Connection): Link => {
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
    }

    /** Removes `link`; true if it was the last link to its address. */
    const remove = (link: Link): boolean => {
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
    }
    // The lost queue slides (the oldest address goes when it is full): an offer, not a plain call.
    const release = (link: Link) => Effect.suspend(() => (remove(link) ? Queue.offer(lost, link.address) : Effect.void))

    const sendPeers = (send: (frame: string) => Effect.Effect<void>) =>
      Effect.flatMap(peersFrame, send).pipe(Effect.zipRight(stats.messagesSent("PEERS", 1)))

    const announce = Effect.gen(function* () {
      const frame = yield* peersFrame
      const to = oursOf(targets)
      yield* Effect.forEach(to, (link) => link.send(frame), { discard: true }).pipe(
        Effect.zipRight(stats.messagesSent("PEERS", to.length)),
        Effect.zipRight(Effect.logDebug("peers announced").pipe(Effect.annotateLogs({ peers: to.length }))),
      )
    })

    // A burst of changes costs one announcement. A lost peer is announced one delay after the change:
    // peers may be counting on us to relay to it. New peers only make our set bigger, and a peer that
    // holds an older, smaller set of ours just relays more than it needs to, so while peers keep coming
    // (a mesh forming) the announcement waits for a delay with no change, at most `announceSettleFactor`
    // delays after the first.
    const announceAfterBurst = Effect.gen(function* () {
      yield* Queue.take(changed)
      const firstAt = yield* Clock.currentTimeMillis
      for (;;) {
        yield* Effect.sleep(options.announceDelayMillis)
        const more = yield* Queue.takeAll(changed)
        const waited = (yield* Clock.currentTimeMillis) - firstAt
        if (shrunk || Chunk.isEmpty(more) || waited >= announceSettleFactor * options.announceDelayMillis) break
      }
      shrunk = false
      yield* announce
    })
    yield* Effect.forkScoped(Effect.forever(announceAfterBurst))

    // Peers list the same few addresses over and over: the node's parser parses each spelling once.
    const parseListed = (entry: string): Address | undefined => Either.getOrUndefined(options.parse(entry))

    /** The addresses a PEERS message lists, as a set; bad entries are left out (a smaller set is safe). */
    const listedIn = (message: Peers): ReadonlySet<Address> => {
      const listed = new Set<Address>()
      for (const entry of message.data.peers) {
        const address = parseListed(entry)
        if (address !== undefined) listed.add(address)
      }
      return listed
    }

    /** The link handle of one connection; `origin` says who is on the other end, once known. */
    const connectionLink = (
      connection: Connection,
      origin: () => Address | undefined,
      identify: (address: Address) => Effect.Effect<void>,
    ) => {
      // What the peer on this connection last said it relays to: set once per PEERS, read once per
      // transaction. Per connection, so a peer that lies about who it is can only mislead itself.
      let view: ReadonlySet<Address> | undefined
      /** The links a transaction that arrived on this connection goes on to. */
      const relayTargets = () => {
        if (options.gossip === "flood") return targets
        const from = origin()
        const covered = from !== undefined ? view : undefined
        // Only our nodes are left to the sender: a spec node gets it from each of its peers, as in the spec.
        return targets.filter(
          (link) => link.address !== from && !(covered?.has(link.address) === true && ours.has(link.address)),
        )
      }
      const relay = (frames: RelayFrames) =>
        Effect.suspend(() => {
          const to = relayTargets()
          return Effect.as(
            Effect.forEach(to, (link) => link.send(isOurs(link) ? frames.forOurs : frames.forSpec), { discard: true }),
            to.length,
          )
        })

      const onPeers = (message: Peers) =>
        Effect.gen(function* () {
          const claimed = options.parse(message.data.address)
          if (Either.isLeft(claimed) || claimed.right === options.self) {
            return yield* Effect.logWarning("peers refused: bad sender address").pipe(
              Effect.annotateLogs({ address: String(message.data.address).slice(0, 200) }),
            )
          }
          if (origin() === undefined) yield* identify(claimed.right)
          const from = origin()
          if (from === undefined) return
          const listed = listedIn(message)
          view = listed
          ours.set(from, listed.size)
          yield* Effect.logDebug("peers received").pipe(Effect.annotateLogs({ from, peers: listed.size }))
          // Our own address is in most lists (we are in the sender's relay set): never a candidate.
          const candidates: Array<Address> = []
          for (const entry of message.data.known ?? []) {
            const address = parseListed(entry)
            if (address !== undefined && address !== options.self) candidates.push(address)
          }
          for (const address of listed) if (address !== options.self) candidates.push(address)
          yield* options.onListed(candidates, connection.remoteIp)
        })

      const name = (address: Address) => (origin() === undefined ? identify(address) : Effect.void)

      return { relay, onPeers, name } satisfies ConnectionLink
    }

    /**
     * An outbound connection to `address`, after its HANDSHAKE: tells the peer our relay set (which
     * also tells it who we are) and relays on it until the scope closes.
     */
    const outbound = (address: Address, connection: Connection): Effect.Effect<ConnectionLink, never, Scope.Scope> =>
      Effect.gen(function* () {
        // A spec node gets nothing but the spec's frames; it never needs our relay set either.
        if (connection.peerNodeId !== undefined) yield* sendPeers(connection.send)
        yield* Effect.acquireRelease(
          Effect.sync(() => add(address, "outbound", connection)),
          release,
        )
        return connectionLink(
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
            const hadOutbound = (byAddress.get(address) ?? []).some((link) => link.direction === "outbound")
            named = add(address, "inbound", connection)
            yield* Effect.annotateCurrentSpan({ peer: address })
            yield* Effect.logDebug("inbound peer named itself").pipe(Effect.annotateLogs({ peer: address }))
            // Our relay set goes to the peer with the first frames of our own connection to it, if we are
            // dialling it (in a forming mesh, nearly always: its HANDSHAKE named it). If that dial fails,
            // the announcement of this new link tells it; until then it just prunes less.
            if (!hadOutbound && !options.isDialling(address)) yield* sendPeers(connection.send)
          })
        return connectionLink(connection, () => named?.address, identify)
      })

    return {
      outbound,
      inbound,
      /** Whether we have a link to `address`, in either direction. */
      has: (address: Address) => byAddress.has(address),
      /** Whether we have an outbound link to `address` (a connection we dialled, handshake sent). */
      hasOutbound: (address: Address) => byAddress.get(address)?.some((link) => link.direction === "outbound") === true,
      /** Links by direction (a peer linked both ways counts twice). */
      count: (direction: LinkDirection) => {
        let n = 0
        for (const links of byAddress.values()) for (const link of links) if (link.direction === direction) n++
        return n
      },
      /** How many peers `address` last told us it relays to, if it told us. */
      viewSize: (address: Address) => ours.get(address),
      /**
       * Closes every link to `address` on purpose. Our other peers hear first that we no longer relay
       * to it (so none counts on us for it), and it gets our relay set, to know where else to go.
       */
      drop: (address: Address) =>
        Effect.suspend(() => {
          const dropped = byAddress.get(address) ?? []
          if (dropped.length === 0) return Effect.void
          leaving.add(address)
          return announce.pipe(Effect.zipRight(Effect.forEach(dropped, (link) => link.close, { discard: true })))
        }),
      /** Waits for a peer we lost our last link to. */
      lost: Queue.take(lost),
      /** The peers lost that nobody has taken yet. */
      lostSince: Queue.takeAll(lost),
      /** The addresses we relay on that are nodes of ours (those that take our SYNC_ and PEERS frames). */
      ours: Effect.sync(() => oursOf(targets).map((link) => link.address)),
      /** Sends `frame` (one of ours: SYNC_, PEERS) on the links of `addresses` we relay on, to our nodes only. */
      sendTo: (addresses: ReadonlyArray<Address>, frame: string) =>
        Effect.forEach(
          oursOf(targets).filter((link) => addresses.includes(link.address)),
          (link) => link.send(frame),
          { discard: true },
        ),
      /** Closes one link. */
      close: (address: Address, direction: LinkDirection) =>
        Effect.forEach(
          (byAddress.get(address) ?? []).filter((link) => link.direction === direction),
          (link) => link.close,
          { discard: true },
        ),
      snapshot: Effect.sync(currentSnapshot),
      /** The current snapshot, then every change (changes in a burst may come as one). */
      changes: Stream.unwrapScoped(
        Effect.map(PubSub.subscribe(version), (subscription) =>
          Stream.concat(Stream.sync(currentSnapshot), Stream.map(Stream.fromQueue(subscription), currentSnapshot)),
        ),
      ),
    }
  })

export type Links = Effect.Effect.Success<ReturnType<typeof makeLinks>>
