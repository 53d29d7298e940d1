import { Clock, Effect, Option } from "effect"
import { ipKey, makeIpBuckets } from "../domain/ipBuckets.js"
import {
  encodeFrame,
  type SyncHashes,
  type SyncMessage,
  type SyncRequest,
  type SyncSummary,
} from "../domain/Message.js"
import type { Transaction } from "../domain/Transaction.js"
import type { BucketRate } from "../domain/tokenBucket.js"
import { Admission } from "../services/Admission.js"
import { TransactionPool } from "../services/TransactionPool.js"
import { makeThrottledWarning } from "./throttledWarning.js"

/**
 * Catch-up between two of our nodes, on top of the spec's protocol (docs/protocol-sync.md). On every
 * outbound connection the dialler sends SYNC_SUMMARY right after its HANDSHAKE. The listener answers
 * only if the pools differ, with SYNC_HASHES (its hashes, in ranges); the dialler then asks for what
 * it lacks with SYNC_REQUEST and sends as TRANSACTION frames what the listener lacks; requested
 * transactions come back as TRANSACTION frames. One exchange reconciles both pools, so a pair sharing
 * one connection (pairing.ts) needs only the dialler's; a spec node ignores the SYNC_ types and never
 * starts one.
 */

/**
 * Hashes per page of our inventory (one SYNC_HASHES frame, about 34 kB). A summary earns one page;
 * the peer asks for the next (a SYNC_SUMMARY with `from`) once it has handled this one.
 */
export const PAGE = 512

/** TRANSACTION frames sent in one go before other fibers (the gossip) get a turn. */
const SLICE = 256

/** Answers to the peer on the connection the message came in on. */
export interface Reply {
  readonly send: (frame: string) => Effect.Effect<void>
  /** Waits until the peer has read most of what it was sent (Connection.room). */
  readonly room: Effect.Effect<void>
}

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
  /** SYNC_HASHES read (each costs a pass over the pool): 32 at once, then 4 a second. */
  hashFrames: { capacity: 32, perSecond: 4 },
  /** Transactions sent in answer to SYNC_HASHES and SYNC_REQUEST: 5,000 at once, then 1,000 a second. */
  transactions: { capacity: 5_000, perSecond: 1_000 },
} satisfies Record<string, BucketRate>

/** A budget as its refusal line states it: "128 at once, then 4 a second". */
const describeRate = (rate: BucketRate) => `${rate.capacity} at once, then ${rate.perSecond} a second per IP`

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

const sortedHashes = (pool: ReadonlyArray<Transaction>): Array<string> => pool.map((tx) => tx.hash).sort()

/** Our SYNC_SUMMARY: the pool's size and digest. */
export const poolSummary = Effect.flatMap(TransactionPool, (pool) =>
  Effect.map(
    pool.summary,
    ({ count, digest }) => ({ type: "SYNC_SUMMARY", data: { count, digest } }) satisfies SyncSummary,
  ),
)

const chunksOf = <A>(items: ReadonlyArray<A>, size: number): Array<ReadonlyArray<A>> =>
  Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size))

/** The page of our sorted hashes that starts at `from`: its range reaches the next page's first hash. */
export const pageOf = (sorted: ReadonlyArray<string>, from: string): SyncHashes => {
  let start = 0
  while (start < sorted.length && (sorted[start] ?? "") < from) start++
  const hashes = sorted.slice(start, start + PAGE)
  return { type: "SYNC_HASHES", data: { from, to: sorted[start + PAGE] ?? null, hashes } }
}

/** A peer's summary (or its ask for the next page): if its pool differs from ours, send it a page of our hashes. */
const onSummary = (message: SyncSummary, reply: Reply, budget: SyncBudget) =>
  Effect.gen(function* () {
    const pool = yield* TransactionPool
    if ((yield* pool.summary).digest === message.data.digest) return yield* Effect.logDebug("sync: pools agree")
    if (!(yield* budget.allows("pages"))) {
      return yield* budget.refused({ type: "SYNC_SUMMARY", limit: describeRate(SYNC_BUDGET.pages) })
    }
    const from = message.data.from ?? ""
    const sorted = sortedHashes(yield* pool.list)
    if (from === "") {
      yield* Effect.logInfo("sync: pools differ; sending our hashes").pipe(
        Effect.annotateLogs({ ours: sorted.length, theirs: message.data.count }),
      )
    }
    yield* reply.send(encodeFrame(pageOf(sorted, from)))
  })

/**
 * Waits for the event loop's next turn: the I/O already waiting (other peers' frames) runs first.
 * (`Effect.yieldNow` only lets other fibers run, in the same turn.)
 */
const nextTurn = Effect.async<void>((resume) => {
  const handle = setImmediate(() => resume(Effect.void))
  return Effect.sync(() => clearImmediate(handle))
})

/**
 * Sends transactions as TRANSACTION frames, a slice at a time, letting the gossip run between slices
 * and going no faster than the peer reads (this connection's frames wait meanwhile, as Bitcoin Core
 * stops reading a peer whose send buffer is full).
 */
const sendTransactions = (txs: ReadonlyArray<Transaction>, reply: Reply) =>
  Effect.forEach(
    chunksOf(txs, SLICE),
    (slice, i) =>
      Effect.zipRight(
        i === 0 ? Effect.void : Effect.zipRight(nextTurn, reply.room),
        Effect.forEach(slice, (tx) => reply.send(encodeFrame({ type: "TRANSACTION", data: tx })), { discard: true }),
      ),
    { discard: true },
  )

/** Part of a peer's inventory: ask for the hashes we lack in its range, send what it lacks there. */
const onHashes = (message: SyncHashes, reply: Reply, budget: SyncBudget) =>
  Effect.gen(function* () {
    if (!(yield* budget.allows("hashFrames"))) {
      return yield* budget.refused({ type: "SYNC_HASHES", limit: describeRate(SYNC_BUDGET.hashFrames) })
    }
    const { from, to, hashes } = message.data
    const inRange = (hash: string) => hash >= from && (to === null || hash < to)
    const theirs = new Set(hashes.filter(inRange))
    const ours = (yield* (yield* TransactionPool).list).filter((tx) => inRange(tx.hash))
    const oursByHash = new Set(ours.map((tx) => tx.hash))
    const missing = [...theirs].filter((hash) => !oursByHash.has(hash))
    const unsent = ours.filter((tx) => !theirs.has(tx.hash))
    const extra = unsent.slice(0, yield* budget.transactions(unsent.length))
    if (extra.length < unsent.length)
      yield* budget.refused({ type: "SYNC_HASHES", unsent: unsent.length - extra.length })
    if (missing.length > 0 || extra.length > 0) {
      yield* Effect.logInfo("sync: reconciling").pipe(
        Effect.annotateLogs({ requesting: missing.length, sending: extra.length }),
      )
    }
    for (const chunk of chunksOf(missing, PAGE)) {
      yield* reply.send(encodeFrame({ type: "SYNC_REQUEST", data: chunk } satisfies SyncRequest))
    }
    yield* sendTransactions(extra, reply)
    // More pages to come: ask for the next once this one is handled (a page per ask, never the lot).
    if (to !== null) {
      const { count, digest } = yield* (yield* TransactionPool).summary
      yield* reply.send(encodeFrame({ type: "SYNC_SUMMARY", data: { count, digest, from: to } } satisfies SyncSummary))
    }
  })

/** A peer asks for transactions: send the ones we hold, as TRANSACTION frames. */
const onRequest = (message: SyncRequest, reply: Reply, budget: SyncBudget) =>
  Effect.gen(function* () {
    const wanted = new Set(message.data)
    const held = (yield* (yield* TransactionPool).list).filter((tx) => wanted.has(tx.hash))
    const found = held.slice(0, yield* budget.transactions(held.length))
    if (found.length < held.length) yield* budget.refused({ type: "SYNC_REQUEST", unsent: held.length - found.length })
    yield* Effect.logDebug("sync: answering request").pipe(
      Effect.annotateLogs({ requested: wanted.size, found: found.length }),
    )
    yield* sendTransactions(found, reply)
  })

/** A SYNC_ message received on a connection; answers go back on the same connection. */
export const onSync = (message: SyncMessage, reply: Reply, budget: SyncBudget) => {
  switch (message.type) {
    case "SYNC_SUMMARY":
      return onSummary(message, reply, budget)
    case "SYNC_HASHES":
      return onHashes(message, reply, budget)
    case "SYNC_REQUEST":
      return onRequest(message, reply, budget)
  }
}
