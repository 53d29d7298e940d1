import { Chunk, Clock, Effect, Queue } from "effect"
import type { Address } from "../domain/Address.js"
import { encodeFrame, MAX_PEERS_LISTED, type Peers } from "../domain/Message.js"
import type { LinkChange, RelayTarget } from "../domain/peerLinks.js"
import { NodeStats } from "../services/NodeStats.js"
import type { PeerStoreShape } from "../services/PeerStore.js"

/**
 * A set that only grew is announced once it has not grown for this many announcement delays, and at
 * most `growthCapFactor` delays after the first change. Measured on a forming mesh of 20 (the PEERS
 * exchanged while the mesh forms compete with its connections for the CPU): one delay of quiet made
 * about 120 more announcements and took about a quarter more CPU and time to form than four.
 */
const growthQuietFactor = 4
const growthCapFactor = 16

export interface AnnouncerOptions {
  /** Our own advertised address, which our PEERS names. */
  readonly self: Address
  /** Other addresses to tell peers about (the peer budget's random picks; none in a full mesh). */
  readonly sample: Effect.Effect<ReadonlyArray<Address>>
  /** How long to wait after the links change before telling peers: start-up brings many changes at once. */
  readonly announceDelayMillis: number
}

/** Our PEERS message: the addresses we relay to (not those being dropped), at most MAX_PEERS_LISTED, and `known`. */
const peersMessage = (self: Address, known: ReadonlyArray<Address>, targets: ReadonlyArray<RelayTarget>): Peers => {
  const listed: Array<Address> = []
  for (const target of targets) {
    if (listed.length < MAX_PEERS_LISTED && !target.leaving) listed.push(target.address)
  }
  const data = { address: self, peers: listed, ...(known.length > 0 ? { known } : {}) }
  return { type: "PEERS", data }
}

/**
 * Waits for the next burst of link changes on `changed` to settle, so a burst costs one announcement.
 * A lost peer (`shrunk()`) is announced one delay after the change: peers may be counting on us to
 * relay to it. New peers only make our set bigger, and a peer that holds an older, smaller set of ours
 * just relays more than it needs to, so while peers keep coming (a mesh forming) the announcement
 * waits for `growthQuietFactor` delays with no change, at most `growthCapFactor` delays after the first.
 */
const burstSettled = (changed: Queue.Dequeue<void>, delayMillis: number, shrunk: () => boolean) =>
  Effect.gen(function* () {
    yield* Queue.take(changed)
    const firstAt = yield* Clock.currentTimeMillis
    let lastAt = firstAt
    for (;;) {
      yield* Effect.sleep(delayMillis)
      const now = yield* Clock.currentTimeMillis
      if (!Chunk.isEmpty(yield* Queue.takeAll(changed))) lastAt = now
      if (shrunk()) return
      if (now - lastAt >= growthQuietFactor * delayMillis || now - firstAt >= growthCapFactor * delayMillis) return
    }
  })

/**
 * Our PEERS announcements (docs/scaling.md): the addresses we relay to, sent to the nodes of ours we
 * relay to after the links change, so each can prune what it sends us. A spec node never gets one.
 */
export const makeAnnouncer = (peers: PeerStoreShape, options: AnnouncerOptions) =>
  Effect.gen(function* () {
    const stats = yield* NodeStats
    const changed = yield* Queue.sliding<void>(1)
    // Whether a peer was lost since the last announcement: peers may then count on us for it.
    let shrunk = false

    const peersFrame = Effect.zipWith(options.sample, peers.relayTargets, (known, targets) =>
      encodeFrame(peersMessage(options.self, known, targets)),
    )

    /** Our PEERS on one connection (the first frames after our HANDSHAKE, or to a peer that named itself). */
    const sendPeers = (send: (frame: string) => Effect.Effect<void>) =>
      Effect.flatMap(peersFrame, send).pipe(Effect.zipRight(stats.messagesSent("PEERS", 1)))

    const announce = Effect.gen(function* () {
      const frame = yield* peersFrame
      const to = (yield* peers.relayTargets).filter((target) => target.ours)
      yield* Effect.forEach(to, (target) => target.send(frame), { discard: true }).pipe(
        Effect.zipRight(stats.messagesSent("PEERS", to.length)),
        Effect.zipRight(Effect.logDebug("peers announced").pipe(Effect.annotateLogs({ peers: to.length }))),
      )
    })

    const announceAfterBurst = Effect.gen(function* () {
      yield* burstSettled(changed, options.announceDelayMillis, () => shrunk)
      shrunk = false
      yield* announce
    })
    yield* Effect.forkScoped(Effect.forever(announceAfterBurst))

    return {
      announce,
      sendPeers,
      /** The link table changed: an address was gained or lost, or only its links moved (no announcement). */
      noteChange: (change: LinkChange): void => {
        if (change === "same") return
        if (change === "lost") shrunk = true
        changed.unsafeOffer(undefined)
      },
    }
  })

export type Announcer = Effect.Effect.Success<ReturnType<typeof makeAnnouncer>>
