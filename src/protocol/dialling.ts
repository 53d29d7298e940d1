import { Clock, Duration, Effect, Option } from "effect"
import type { Address, AddressParser } from "../domain/Address.js"
import { isResting, type PeerEntry } from "../domain/PeerTable.js"
import { hasOutboundLink } from "../domain/peerLinks.js"
import type { HealingSettings, NodeConfigShape } from "../services/NodeConfig.js"
import type { NodeStatsShape } from "../services/NodeStats.js"
import type { PeerStoreShape } from "../services/PeerStore.js"
import { makeAddressBook } from "./addressBook.js"
import type { makeConnectionRunners } from "./connections.js"
import type { makeDialQueue } from "./dialQueue.js"
import type { Links } from "./links.js"
import { makePairing } from "./pairing.js"
import type { PeerBudget } from "./peerBudget.js"
import { makeRedialer } from "./redial.js"
import type { RedialPolicy } from "./redialLoop.js"

type DialQueue = Effect.Effect.Success<ReturnType<typeof makeDialQueue>>
type ConnectionRunners<R> = ReturnType<typeof makeConnectionRunners<R>>

/**
 * Who the node dials, and when: a redial loop per address (redial.ts), behind the peer budget's and
 * the dial queue's gates; one connection per pair of our nodes (pairing.ts); and the address book
 * (addressBook.ts), from which what peers list is dialled at the node's own pace, never at once.
 */
export const makeDialling = <R>(options: {
  readonly config: NodeConfigShape
  readonly peers: PeerStoreShape
  readonly stats: NodeStatsShape
  readonly parse: AddressParser
  readonly links: Links
  readonly budget: PeerBudget
  readonly dialQueue: DialQueue
  readonly connections: ConnectionRunners<R>
}) =>
  Effect.gen(function* () {
    const { config, peers, links, budget, dialQueue, connections } = options
    // Every address is dialled by its own loop, which redials it when the dial fails or the connection drops.
    const redialer = yield* makeRedialer({
      policy: redialPolicyOf(config.healing),
      isKnown: (address) => config.knownPeers.includes(address),
      connect: (address) => budget.gate(address, connections.outbound(address)),
      table: peers,
    })
    // An address we are connected to is left alone: its loop serves that connection and would drop a
    // wake-up when it ends (redial.ts), so asking costs steps for nothing (HANDSHAKEs list our peers).
    const dialWith = (start: (address: Address) => Effect.Effect<void>) => (address: Address) =>
      Effect.gen(function* () {
        if (!(yield* budget.admits(address)) || (yield* links.hasOutbound(address))) return
        if (yield* dialQueue.admit(address)) yield* start(address)
      })
    const dialNow = dialWith((address) => redialer.dial(address))
    // Our nodes share one connection per pair (pairing.ts); a bounded mesh has its own rule (peerBudget.ts).
    const pairing = makePairing({
      self: config.address,
      enabled: config.mesh.shareConnections && Option.isNone(config.mesh.maxPeers),
      parse: options.parse,
      peers,
      stats: options.stats,
      dialNow,
      dialLater: dialWith((address) => redialer.redial(address)),
      standDown: redialer.standDown,
      hold: redialer.hold,
      sendHandshake: connections.sendHandshake,
    })
    const book = yield* makeAddressBook({
      table: peers,
      unsettled: (addresses) =>
        Effect.zipWith(peers.entriesOf(addresses), Clock.currentTimeMillis, (entries, now) =>
          addresses.filter((address, i) =>
            isUnsettled(address, entries[i], { self: config.address, now, isDialling: redialer.isDialling }),
          ),
        ),
      dial: pairing.dial,
    })
    return {
      /** Dials `address` now, through the gates (the known peers, at start). */
      dialNow,
      /** Learned addresses (HANDSHAKE, PEERS) from `source`, for the address book. */
      learn: book.learn,
      /** Whether a loop is dialling `address`, or serving a connection to it (redial.ts). */
      isDialling: redialer.isDialling,
      pairing,
    }
  })

/**
 * Whether a listed address needs a dial: not our own, not waiting in the address book already, no
 * outbound link, no loop dialling it. A loop backing off is not settled: a peer listing the address
 * again has it dialled now. An address given up after its peer stopped answering is settled for a
 * rest: a listing is no proof that it answers (docs/peer-states.md).
 */
const isUnsettled = (
  address: Address,
  entry: PeerEntry | undefined,
  node: { readonly self: Address; readonly now: number; readonly isDialling: (address: Address) => boolean },
): boolean => {
  if (address === node.self || entry?.queued === true || hasOutboundLink(entry) || isResting(entry, node.now)) {
    return false
  }
  return !node.isDialling(address) || entry?.state._tag === "BackingOff"
}

/** The redial loops' pacing, from the node's healing settings. */
const redialPolicyOf = (healing: HealingSettings): RedialPolicy => ({
  baseDelay: healing.redialBaseMillis,
  maxDelay: healing.redialMaxMillis,
  learnedAttempts: healing.redialLearnedAttempts,
  givenUpRest: Duration.millis(healing.givenUpRestMillis),
})
