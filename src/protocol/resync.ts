import { Effect, Random } from "effect"
import { encodeFrame } from "../domain/Message.js"
import type { Links } from "./links.js"
import { poolSummary } from "./sync.js"

/** How long after a link breaks to catch up: long enough for every peer to have heard who relays to whom. */
export const RESYNC_DELAY_MILLIS = 2_000

/** With how many of the remaining peers to catch up. */
const RESYNC_PEERS = 2

/**
 * The safety net of pruned gossip (links.ts). When a link goes, the peers of each end keep counting on
 * it for the other end until that end announces its new relay set, so a transaction relayed in between
 * can miss either end. Each end therefore runs the catch-up sync (sync.ts) with a couple of its
 * remaining peers once those announcements are out; every other node holds what the ends may lack.
 * When the two ends reconnect, the sync of the new connection covers them as well.
 */
export const resyncAfterLostLinks = (links: Links) =>
  Effect.forever(
    Effect.gen(function* () {
      const first = yield* links.lost
      yield* Effect.sleep(RESYNC_DELAY_MILLIS)
      const more = yield* links.lostSince
      // Only our nodes sync; a spec node would read the summary's data as an address list.
      const peers = Array.from(yield* Random.shuffle(yield* links.ours)).slice(0, RESYNC_PEERS)
      yield* Effect.logInfo("links lost: catching up with other peers").pipe(
        Effect.annotateLogs({ lost: [first, ...more].slice(0, 10), peers }),
      )
      yield* links.sendTo(peers, encodeFrame(yield* poolSummary))
    }),
  )

/**
 * Anti-entropy, the last safety net: every `intervalMillis` on average (±25%), the node sends its
 * pool's summary to one peer picked at random. Pools that agree cost that one frame; pools that differ
 * reconcile (sync.ts) in both directions. Whatever made a node miss a transaction (a view gone stale
 * between two announcements, a frame lost with a connection), it gets it within a few rounds.
 */
export const syncPeriodically = (links: Links, intervalMillis: number) =>
  Effect.forever(
    Effect.gen(function* () {
      yield* Effect.sleep(intervalMillis * (yield* Random.nextRange(0.75, 1.25)))
      const ours = yield* links.ours
      const peer = ours[yield* Random.nextIntBetween(0, ours.length)]
      if (peer === undefined) return
      yield* Effect.logDebug("sync: comparing pools with a random peer").pipe(Effect.annotateLogs({ peer }))
      yield* links.sendTo([peer], encodeFrame(yield* poolSummary))
    }),
  )
