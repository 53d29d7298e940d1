import { Clock, Effect } from "effect"
import {
  encodeFrame,
  type SyncHashes,
  type SyncMessage,
  type SyncRequest,
  type SyncSummary,
} from "../domain/Message.js"
import type { Transaction } from "../domain/Transaction.js"
import { type BucketRate, fullBucket, type TokenBucket, takeToken, takeTokens } from "../domain/tokenBucket.js"
import { TransactionPool } from "../services/TransactionPool.js"
import { throttledWarning } from "./throttledWarning.js"

/**
 * Catch-up between two of our nodes, on top of the spec's protocol (docs/protocol-sync.md). On every
 * outbound connection the dialler sends SYNC_SUMMARY right after its HANDSHAKE. The listener answers
 * only if the pools differ, with SYNC_HASHES (its hashes, in ranges); the dialler then asks for what
 * it lacks with SYNC_REQUEST and sends as TRANSACTION frames what the listener lacks; requested
 * transactions come back as TRANSACTION frames. One exchange reconciles both pools, so a pair sharing
 * one connection (pairing.ts) needs only the dialler's; a spec node ignores the SYNC_ types and never
 * starts one.
 */

/** Hashes per SYNC_HASHES or SYNC_REQUEST frame we send (about 68 kB), well under the frame limit. */
const CHUNK = 1024

/** Answers to the peer on the connection the message came in on. */
export type Reply = (frame: string) => Effect.Effect<void>

/**
 * What one connection may make this node do through the sync (docs/limits.md). A peer is one message
 * away from making us send a lot: a SYNC_SUMMARY with a wrong digest earns our whole inventory, a
 * SYNC_HASHES or SYNC_REQUEST up to every transaction we hold. A real catch-up asks once per
 * connection (and after a lost link), so these budgets never bind it; a peer that asks over and over
 * gets what the budget allows and one warning a minute.
 */
export const SYNC_BUDGET = {
  /** SYNC_SUMMARY answered: a few at once, then one every 2 s (a node resyncs at most that often). */
  summaries: { capacity: 8, perSecond: 0.5 },
  /** SYNC_HASHES read (each costs a pass over the pool): a big pool's inventory at once, then 2 a second. */
  hashFrames: { capacity: 256, perSecond: 2 },
  /** Transactions sent in answer to SYNC_HASHES and SYNC_REQUEST: 50,000 at once, then 1,000 a second. */
  transactions: { capacity: 50_000, perSecond: 1_000 },
} satisfies Record<string, BucketRate>

/** A budget as its refusal line states it: "8 at once, then 0.5 a second". */
const describeRate = (rate: BucketRate) => `${rate.capacity} at once, then ${rate.perSecond} a second`

export interface SyncBudget {
  /** Whether a message of this kind may be answered now (a summary, or one SYNC_HASHES frame). */
  readonly allows: (kind: "summaries" | "hashFrames") => Effect.Effect<boolean>
  /** How many of `wanted` transactions may be sent now (taken from the budget). */
  readonly transactions: (wanted: number) => Effect.Effect<number>
  /** One warning a minute for what the budget refused. */
  readonly refused: (detail: Readonly<Record<string, unknown>>) => Effect.Effect<void>
}

/** A connection's sync budget, full to start with. */
export const makeSyncBudget = Effect.map(Clock.currentTimeMillis, (now) => syncBudgetAt(now))

/** `makeSyncBudget` as a plain call, its buckets full at `now` (ms): built for every connection. */
export const syncBudgetAt = (now: number): SyncBudget => {
  const buckets: Record<keyof typeof SYNC_BUDGET, TokenBucket> = {
    summaries: fullBucket(SYNC_BUDGET.summaries, now),
    hashFrames: fullBucket(SYNC_BUDGET.hashFrames, now),
    transactions: fullBucket(SYNC_BUDGET.transactions, now),
  }
  const warn = throttledWarning("sync refused: over the connection's sync budget", 60_000)
  return {
    allows: (kind) =>
      Effect.map(Clock.currentTimeMillis, (at) => {
        const [allowed, next] = takeToken(buckets[kind], SYNC_BUDGET[kind], at)
        buckets[kind] = next
        return allowed
      }),
    transactions: (wanted) =>
      Effect.map(Clock.currentTimeMillis, (at) => {
        const [granted, next] = takeTokens(buckets.transactions, SYNC_BUDGET.transactions, at, wanted)
        buckets.transactions = next
        return granted
      }),
    refused: (detail) => warn(detail),
  }
}

const sortedHashes = (pool: ReadonlyArray<Transaction>): Array<string> => pool.map((tx) => tx.hash).sort()

/** Our SYNC_SUMMARY: the pool's size and digest. */
export const poolSummary = Effect.flatMap(TransactionPool, (pool) =>
  Effect.map(
    pool.summary,
    ({ count, digest }) => ({ type: "SYNC_SUMMARY", data: { count, digest } }) satisfies SyncSummary,
  ),
)

const chunksOf = <A>(items: ReadonlyArray<A>): Array<ReadonlyArray<A>> =>
  Array.from({ length: Math.ceil(items.length / CHUNK) }, (_, i) => items.slice(i * CHUNK, (i + 1) * CHUNK))

/** Our hashes as SYNC_HASHES frames whose ranges cover every possible hash, at most CHUNK hashes each. */
const inventoryOf = (sorted: ReadonlyArray<string>): Array<SyncHashes> => {
  const chunks = sorted.length === 0 ? [[]] : chunksOf(sorted)
  return chunks.map((hashes, i) => ({
    type: "SYNC_HASHES",
    data: { from: i === 0 ? "" : (hashes[0] ?? ""), to: chunks[i + 1]?.[0] ?? null, hashes },
  }))
}

/** A peer's summary: if its pool differs from ours, send it our inventory so it can work out the difference. */
const onSummary = (message: SyncSummary, reply: Reply, budget: SyncBudget) =>
  Effect.gen(function* () {
    if (!(yield* budget.allows("summaries"))) {
      return yield* budget.refused({ type: "SYNC_SUMMARY", limit: describeRate(SYNC_BUDGET.summaries) })
    }
    const pool = yield* TransactionPool
    if ((yield* pool.summary).digest === message.data.digest) return yield* Effect.logDebug("sync: pools agree")
    const sorted = sortedHashes(yield* pool.list)
    yield* Effect.logInfo("sync: pools differ; sending our hashes").pipe(
      Effect.annotateLogs({ ours: sorted.length, theirs: message.data.count }),
    )
    yield* Effect.forEach(inventoryOf(sorted), (frame) => reply(encodeFrame(frame)), { discard: true })
  })

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
    for (const chunk of chunksOf(missing)) {
      yield* reply(encodeFrame({ type: "SYNC_REQUEST", data: chunk } satisfies SyncRequest))
    }
    yield* Effect.forEach(extra, (tx) => reply(encodeFrame({ type: "TRANSACTION", data: tx })), { discard: true })
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
    yield* Effect.forEach(found, (tx) => reply(encodeFrame({ type: "TRANSACTION", data: tx })), { discard: true })
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
