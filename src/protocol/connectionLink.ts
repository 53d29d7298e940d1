import { Effect, Either, Scope } from "effect"
import type { Address, AddressParser } from "../domain/Address.js"
import type { Peers } from "../domain/Message.js"
import { hasOutboundLink, type RelayTarget } from "../domain/peerLinks.js"
import type { GossipMode } from "../services/NodeConfig.js"
import type { PeerStoreShape } from "../services/PeerStore.js"
import type { Connection } from "../services/Transport.js"

/**
 * A transaction as each kind of peer gets it: a node of ours with our trace context when we propagate
 * traces; a peer not known to be ours exactly the spec's `{ type, data }` (docs/peer-states.md).
 */
export interface RelayFrames {
  readonly forOurs: string
  readonly forSpec: string
}

/** What the frame handlers of one connection need from the peer table's links. */
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
   * Names the peer of an inbound connection before its PEERS does: its HANDSHAKE did, and pairing.ts
   * has recorded the connection as the peer's (PeerStore.register). Nothing once the peer is named, or
   * on an outbound connection.
   */
  readonly name: (address: Address) => Effect.Effect<void>
  /** Whether the peer has named itself (always, outbound): a plain read, for the connection slots. */
  readonly isNamed: () => boolean
}

/** What every connection's link shares: the node's peer table and settings. */
export interface LinkContext {
  readonly peers: PeerStoreShape
  readonly self: Address
  readonly gossip: GossipMode
  /** The node's cached address parser: peers list the same few addresses over and over. */
  readonly parse: AddressParser
  /** Addresses a peer listed in PEERS, and the IP of the connection they came on. */
  readonly onListed: (addresses: ReadonlyArray<Address>, source: string | undefined) => Effect.Effect<void>
  /** Sends our PEERS on one connection (announce.ts). */
  readonly sendPeers: (send: (frame: string) => Effect.Effect<void>) => Effect.Effect<void>
  /** Whether the node is dialling `address` (its connection will carry our relay set). */
  readonly isDialling: (address: Address) => boolean
}

/** The addresses a PEERS message lists, as a set; bad entries are left out (a smaller set is safe). */
const listedIn = (message: Peers, parse: AddressParser): ReadonlySet<Address> => {
  const listed = new Set<Address>()
  for (const entry of message.data.peers) {
    const address = Either.getOrUndefined(parse(entry))
    if (address !== undefined) listed.add(address)
  }
  return listed
}

/** The addresses of a PEERS message worth a dial: those it knows and those it relays to, never our own. */
const candidatesIn = (message: Peers, listed: ReadonlySet<Address>, context: LinkContext): Array<Address> => {
  const candidates: Array<Address> = []
  for (const entry of message.data.known ?? []) {
    const address = Either.getOrUndefined(context.parse(entry))
    if (address !== undefined && address !== context.self) candidates.push(address)
  }
  // Our own address is in most lists (we are in the sender's relay set): never a candidate.
  for (const address of listed) if (address !== context.self) candidates.push(address)
  return candidates
}

/** The link handle of one connection; `origin` says who is on the other end, once known. */
const makeConnectionLink = (
  context: LinkContext,
  connection: Connection,
  origin: () => Address | undefined,
  /** Names the peer; `linked` if the connection is already recorded as one of its links. */
  identify: (address: Address, linked: boolean) => Effect.Effect<void>,
): ConnectionLink => {
  const { peers } = context
  // What the peer on this connection last said it relays to: set once per PEERS, read once per
  // transaction. Per connection, so a peer that lies about who it is can only mislead itself.
  let view: ReadonlySet<Address> | undefined
  /** The targets a transaction that arrived on this connection goes on to. */
  const relayTargets = (targets: ReadonlyArray<RelayTarget>) => {
    if (context.gossip === "flood") return targets
    const from = origin()
    const covered = from !== undefined ? view : undefined
    // Only our nodes are left to the sender: a spec node gets it from each of its peers, as in the spec.
    return targets.filter(
      (target) => target.address !== from && !(covered?.has(target.address) === true && target.announced),
    )
  }
  const relay = (frames: RelayFrames) =>
    Effect.flatMap(peers.relayTargets, (targets) => {
      const to = relayTargets(targets)
      return Effect.as(
        Effect.forEach(to, (target) => target.send(target.ours ? frames.forOurs : frames.forSpec), {
          discard: true,
        }),
        to.length,
      )
    })

  const onPeers = (message: Peers) =>
    Effect.gen(function* () {
      const claimed = context.parse(message.data.address)
      if (Either.isLeft(claimed) || claimed.right === context.self) {
        return yield* Effect.logWarning("peers refused: bad sender address").pipe(
          Effect.annotateLogs({ address: String(message.data.address).slice(0, 200) }),
        )
      }
      if (origin() === undefined) yield* identify(claimed.right, false)
      const from = origin()
      if (from === undefined) return
      const listed = listedIn(message, context.parse)
      view = listed
      yield* peers.markOurs(from, listed.size)
      yield* Effect.logDebug("peers received").pipe(Effect.annotateLogs({ from, peers: listed.size }))
      yield* context.onListed(candidatesIn(message, listed, context), connection.remoteIp)
    })

  const name = (address: Address) => (origin() === undefined ? identify(address, true) : Effect.void)

  return { relay, onPeers, name, isNamed: () => origin() !== undefined }
}

/**
 * An outbound connection to `address`, after its HANDSHAKE: tells the peer our relay set (which
 * also tells it who we are), then records the peer as connected, relaying on it until the scope closes.
 */
export const outboundLink = (
  context: LinkContext,
  address: Address,
  connection: Connection,
): Effect.Effect<ConnectionLink, never, Scope.Scope> =>
  Effect.gen(function* () {
    // A spec node gets nothing but the spec's frames; it never needs our relay set either.
    const kind = connection.peerNodeId === undefined ? "spec" : "ours"
    if (kind === "ours") yield* context.sendPeers(connection.send)
    const { send, close } = connection
    yield* context.peers.register({ address, direction: "outbound", kind, send, close })
    return makeConnectionLink(
      context,
      connection,
      () => address,
      () => Effect.void,
    )
  })

/**
 * An inbound connection: a link once its peer names itself (in PEERS, or in the HANDSHAKE that had
 * pairing adopt it), until the scope closes. If we have no outbound connection to that peer, we
 * relay on this one and tell it our relay set.
 */
export const inboundLink = (
  context: LinkContext,
  connection: Connection,
): Effect.Effect<ConnectionLink, never, Scope.Scope> =>
  Effect.gen(function* () {
    const { peers } = context
    const scope = yield* Effect.scope
    let named: Address | undefined
    const identify = (address: Address, linked: boolean) =>
      Effect.gen(function* () {
        named = address
        const hadOutbound = hasOutboundLink(yield* peers.entry(address))
        if (!linked) {
          const { send, close } = connection
          yield* Scope.extend(peers.link({ address, direction: "inbound", kind: "ours", send, close }), scope)
        }
        yield* Effect.annotateCurrentSpan({ peer: address })
        yield* Effect.logDebug("inbound peer named itself").pipe(Effect.annotateLogs({ peer: address }))
        // Our relay set goes to the peer with the first frames of our own connection to it, if we are
        // dialling it (in a forming mesh, nearly always: its HANDSHAKE named it). If that dial fails,
        // the announcement of this new link tells it; until then it just prunes less.
        if (!hadOutbound && !context.isDialling(address)) yield* context.sendPeers(connection.send)
      })
    return makeConnectionLink(context, connection, () => named, identify)
  })
