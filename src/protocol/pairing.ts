import { Effect, Either, Scope } from "effect"
import type { Address, AddressParser } from "../domain/Address.js"
import type { Handshake } from "../domain/Message.js"
import { mayBeFrom } from "../domain/remoteHost.js"
import type { NodeStatsShape } from "../services/NodeStats.js"
import type { PeerStoreShape } from "../services/PeerStore.js"
import type { Connection } from "../services/Transport.js"
import type { ConnectionLink } from "./links.js"

export interface PairingOptions {
  readonly self: Address
  /** Off: no connection is adopted (the spec's two per pair). */
  readonly enabled: boolean
  readonly parse: AddressParser
  readonly peers: PeerStoreShape
  readonly stats: NodeStatsShape
  /** Dials `address` (the dialler skips what is connected or being dialled). */
  readonly dialNow: (address: Address) => Effect.Effect<void>
  /** Dials `address` after one redial delay, as after a dropped connection of our own. */
  readonly dialLater: (address: Address) => Effect.Effect<void>
  /**
   * Gives up our own dialling of `address` if it is only waiting to redial; false if we are dialling
   * it or connected to it (redial.ts `standDown`).
   */
  readonly standDown: (address: Address) => Effect.Effect<boolean>
  /**
   * Makes the calling fiber (the adopted connection's) the one fiber of `address` until `scope` closes
   * (redial.ts `hold`); its end is forgotten before `dialLater` runs.
   */
  readonly hold: (address: Address, scope: Scope.Scope) => Effect.Effect<void>
  /** Sends our HANDSHAKE for `address` on `connection`. */
  readonly sendHandshake: (address: Address, connection: Connection) => Effect.Effect<void>
}

/**
 * The address a HANDSHAKE names for its sender (its first), if we may believe it: not our own, and
 * one that may be reached at the connection's remote IP.
 */
const believedSender = (
  options: Pick<PairingOptions, "self" | "parse">,
  message: Handshake,
  remoteIp: string | undefined,
): Address | undefined => {
  const named = options.parse(message.data[0])
  if (Either.isLeft(named) || named.right === options.self) return undefined
  // A peer could name any address to keep us from dialling it: believed only from that host.
  return mayBeFrom(named.right, remoteIp) ? named.right : undefined
}

/**
 * Adopts `connection` as our connection to `address` until `scope` (the connection's) closes, unless
 * we are dialling `address` ourselves or it is connected already. `release` runs once it has ended.
 */
const adopt = (
  options: PairingOptions,
  release: (address: Address) => Effect.Effect<void>,
  address: Address,
  connection: Connection,
  link: ConnectionLink,
  scope: Scope.Scope,
) =>
  Effect.gen(function* () {
    // Dialling it too (we heard of each other at once): both connections stay; PEERS names this
    // one. Only waiting to redial it: this connection is the one we were waiting for.
    if (!(yield* options.standDown(address))) return
    // Claimed in the peer table as a dial would be: refused if the address is connected already
    // (adopted, or dialled since), and a second connection naming it cannot adopt it meanwhile.
    if (!(yield* Scope.extend(options.peers.claim(address), scope))) return
    // Added before the registration below, so it runs after its removal: once the address has left the
    // connected set (and before the claim is released).
    yield* Scope.addFinalizer(scope, release(address))
    yield* Scope.extend(
      options.peers.register({
        address,
        direction: "inbound",
        kind: "ours",
        send: connection.send,
        close: connection.close,
      }),
      scope,
    )
    yield* options.sendHandshake(address, connection)
    yield* link.name(address)
    // After naming the link (which asks whether we dial the peer, to send our PEERS if not), and after
    // `release`, so the hold ends before the redial starts.
    yield* options.hold(address, scope)
    yield* options.stats.increment("adoptedConnections")
    yield* Effect.logInfo("inbound connection adopted; handshake sent").pipe(Effect.annotateLogs({ peer: address }))
  })

/**
 * One connection per pair of our nodes (docs/protocol-sync.md, "One connection per pair"). Spec nodes
 * dial each other both ways; ours share the connection one of them dialled. A node of ours (its
 * transport sends a node id) lists its own address first in its HANDSHAKE. A node that gets such a
 * HANDSHAKE on an inbound connection, and is neither connected to that address nor dialling it, adopts
 * the connection: the address counts as connected (our HANDSHAKEs list it), the connection carries our
 * HANDSHAKE and relay set back, and we do not dial the peer. Two nodes that dial each other at the same
 * moment keep both connections, as before; a node that was only waiting to redial the peer adopts the
 * peer's connection instead. Spec nodes and the spec's probes send no node id: they are dialled back,
 * as the spec asks. An adopted connection that ends is redialled after one redial delay, as a dropped
 * connection of our own would be (the peer that dialled it redials too).
 */
export const makePairing = (options: PairingOptions) => {
  let stopping = false

  /** Dials `address` unless an adopted connection already links us (the peer table says so). */
  const dial = (address: Address): Effect.Effect<void> =>
    Effect.flatMap(options.peers.entry(address), (entry) =>
      entry?.state._tag === "Connected" && entry.state.direction === "inbound" ? Effect.void : options.dialNow(address),
    )

  const release = (address: Address) =>
    Effect.suspend(() => {
      if (stopping) return Effect.void
      // The line a connection we dialled logs when it ends, so either kind reads the same.
      return Effect.zipRight(
        Effect.logInfo("peer closed").pipe(Effect.annotateLogs({ peer: address })),
        options.dialLater(address),
      )
    })

  /**
   * The first step of the HANDSHAKE handler on an inbound connection (until `scope`, the connection's,
   * closes): adopts the connection if its peer is a node of ours we have no connection to. Only the
   * connection's first HANDSHAKE counts.
   */
  const adopter = (connection: Connection, link: ConnectionLink, scope: Scope.Scope) => {
    let seen = false
    return (message: Handshake): Effect.Effect<void> =>
      Effect.suspend(() => {
        if (seen || !options.enabled || connection.peerNodeId === undefined) return Effect.void
        seen = true
        const address = believedSender(options, message, connection.remoteIp)
        return address === undefined ? Effect.void : adopt(options, release, address, connection, link, scope)
      })
  }

  return {
    dial,
    adopter,
    /** From now on a lost connection is not dialled again: the node is shutting down. */
    stop: Effect.sync(() => {
      stopping = true
    }),
  }
}
