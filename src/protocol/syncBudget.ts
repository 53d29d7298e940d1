import { Clock, Effect, Option } from "effect"
import { ipKey, makeIpBuckets } from "../domain/ipBuckets.js"
import type { BucketRate } from "../domain/tokenBucket.js"
import { Admission } from "../services/Admission.js"
import { makeThrottledWarning } from "./throttledWarning.js"

/**
 * What one IP may make this node do through the sync (docs/limits.md), whatever number of
 * connections it opens or reopens. A peer is one message away from making us send a lot: a
 * SYNC_SUMMARY earns a page of our hashes, a SYNC_HASHES or SYNC_REQUEST up to every transaction we
 * hold. The bursts are small enough that the gossip stays within a second while they are spent (the
 * attack suite's sync scenario); a real catch-up of 20,000 takes about 15 s from one peer. A peer that
 * asks over and over gets what the budget allows and the node logs one warning a minute.
 */
export const SYNC_BUDGET = {
  /** Pages of our inventory sent: 32 at once (16k hashes), then 4 a second. */
  pages: { capacity: 32, perSecond: 4 },
  /** SYNC_HASHES read (each reads a range of our hashes, up to a burst of transactions): 32 at once, then 4 a second. */
  hashFrames: { capacity: 32, perSecond: 4 },
  /** Transactions sent in answer to SYNC_HASHES and SYNC_REQUEST: 5,000 at once, then 1,000 a second. */
  transactions: { capacity: 5_000, perSecond: 1_000 },
} satisfies Record<string, BucketRate>

/** A budget as its refusal line states it: "128 at once, then 4 a second". */
export const describeRate = (rate: BucketRate) => `${rate.capacity} at once, then ${rate.perSecond} a second per IP`

export interface SyncBudget {
  /** Whether a message of this kind may be answered now (a page, or one SYNC_HASHES frame). */
  readonly allows: (kind: "pages" | "hashFrames") => Effect.Effect<boolean>
  /** How many of `wanted` transactions may be sent now (taken from the budget). */
  readonly transactions: (wanted: number) => Effect.Effect<number>
  /** One warning a minute, for the whole node, for what the budgets refused. */
  readonly refused: (detail: Readonly<Record<string, unknown>>) => Effect.Effect<void>
}

/**
 * The node's sync budgets, one per IP: returns the budget of the peer at `ip` (for a connection
 * without a known IP, its address), shared by all its connections.
 */
export const makeSyncBudgets = Effect.gen(function* () {
  const buckets = {
    pages: makeIpBuckets(SYNC_BUDGET.pages),
    hashFrames: makeIpBuckets(SYNC_BUDGET.hashFrames),
    transactions: makeIpBuckets(SYNC_BUDGET.transactions),
  }
  const warn = yield* makeThrottledWarning("sync refused: over the IP's sync budget", 60_000)
  // Asking past the budget counts against the IP's misbehaviour score, at most once per 10 s: a real
  // catch-up that ran into the budget stops asking, so only a peer that keeps at it is ever banned.
  const admission = yield* Effect.serviceOption(Admission)
  const reports = makeIpBuckets({ capacity: 1, perSecond: 0.1 })
  const report = (ip: string, at: number) =>
    Option.isSome(admission) && reports.take(ip, at) ? admission.value.report(ip, "over limit") : Effect.void
  return (peer: string): SyncBudget => {
    const ip = ipKey(peer)
    return {
      allows: (kind) => Effect.map(Clock.currentTimeMillis, (at) => buckets[kind].take(ip, at)),
      transactions: (wanted) =>
        Effect.map(Clock.currentTimeMillis, (at) => buckets.transactions.takeUpTo(ip, at, wanted)),
      refused: (detail) =>
        Effect.zipRight(
          warn({ ...detail, ip }),
          Effect.flatMap(Clock.currentTimeMillis, (at) => report(ip, at)),
        ),
    }
  }
})
