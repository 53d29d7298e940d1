import { Effect } from "effect"
import {
  encodeFrame,
  type SyncHashes,
  type SyncMessage,
  type SyncRequest,
  type SyncSummary,
} from "../domain/Message.js"
import type { Transaction } from "../domain/Transaction.js"
import { TransactionPool, type TransactionPoolShape } from "../services/TransactionPool.js"
import { describeRate, SYNC_BUDGET, type SyncBudget } from "./syncBudget.js"

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
export type Reply = (frame: string) => Effect.Effect<void>

/** Our SYNC_SUMMARY: the pool's size and digest. */
export const poolSummary = Effect.flatMap(TransactionPool, (pool) =>
  Effect.map(
    pool.summary,
    ({ count, digest }) => ({ type: "SYNC_SUMMARY", data: { count, digest } }) satisfies SyncSummary,
  ),
)

const chunksOf = <A>(items: ReadonlyArray<A>, size: number): Array<ReadonlyArray<A>> =>
  Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size))

/**
 * The page of our hashes that starts at `from`: its range reaches the next page's first hash (read
 * with the page, one past it).
 */
const pageOf = (pool: TransactionPoolShape, from: string) =>
  Effect.map(
    pool.sortedHashes(from, null, PAGE + 1),
    (hashes): SyncHashes => ({
      type: "SYNC_HASHES",
      data: { from, to: hashes[PAGE] ?? null, hashes: hashes.slice(0, PAGE) },
    }),
  )

/** A peer's summary (or its ask for the next page): if its pool differs from ours, send it a page of our hashes. */
const onSummary = (message: SyncSummary, reply: Reply, budget: SyncBudget) =>
  Effect.gen(function* () {
    const pool = yield* TransactionPool
    if ((yield* pool.summary).digest === message.data.digest) return yield* Effect.logDebug("sync: pools agree")
    if (!(yield* budget.allows("pages"))) {
      return yield* budget.refused({ type: "SYNC_SUMMARY", limit: describeRate(SYNC_BUDGET.pages) })
    }
    const from = message.data.from ?? ""
    if (from === "") {
      yield* Effect.logInfo("sync: pools differ; sending our hashes").pipe(
        Effect.annotateLogs({ ours: yield* pool.size, theirs: message.data.count }),
      )
    }
    yield* reply(encodeFrame(yield* pageOf(pool, from)))
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
 * Sends transactions as TRANSACTION frames, a slice at a time, letting the gossip run between slices.
 * It does not wait for the peer to read them: the reader would stop, and two peers answering each
 * other could each wait for the other. A peer that leaves too much unread is disconnected instead
 * (MAX_SEND_BUFFER_BYTES); a catch-up is paged, so an honest one stays far below that.
 */
const sendTransactions = (txs: ReadonlyArray<Transaction>, reply: Reply) =>
  Effect.forEach(
    chunksOf(txs, SLICE),
    (slice, i) =>
      Effect.zipRight(
        i === 0 ? Effect.void : nextTurn,
        Effect.forEach(slice, (tx) => reply(encodeFrame({ type: "TRANSACTION", data: tx })), { discard: true }),
      ),
    { discard: true },
  )

/** Part of a peer's inventory: ask for the hashes we lack in its range, send what it lacks there. */
const onHashes = (message: SyncHashes, reply: Reply, budget: SyncBudget) =>
  Effect.gen(function* () {
    if (!(yield* budget.allows("hashFrames"))) {
      return yield* budget.refused({ type: "SYNC_HASHES", limit: describeRate(SYNC_BUDGET.hashFrames) })
    }
    const pool = yield* TransactionPool
    const { from, to, hashes } = message.data
    const theirs = new Set(hashes.filter((hash) => hash >= from && (to === null || hash < to)))
    // A range can hold the whole pool (a peer that holds nothing sends one page from "" to the end);
    // no answer sends more than a full burst of the budget, so no more of ours is read.
    const ours = yield* pool.sortedHashes(from, to, SYNC_BUDGET.transactions.capacity + theirs.size)
    const missing = [...theirs].filter((hash) => !pool.holds(hash))
    const unsent = ours.filter((hash) => !theirs.has(hash))
    // Only what the budget allows is read back from the pool: a page costs what it sends.
    const extra = yield* pool.lookup(unsent.slice(0, yield* budget.transactions(unsent.length)))
    if (extra.length < unsent.length)
      yield* budget.refused({ type: "SYNC_HASHES", unsent: unsent.length - extra.length })
    if (missing.length > 0 || extra.length > 0) {
      yield* Effect.logInfo("sync: reconciling").pipe(
        Effect.annotateLogs({ requesting: missing.length, sending: extra.length }),
      )
    }
    for (const chunk of chunksOf(missing, PAGE)) {
      yield* reply(encodeFrame({ type: "SYNC_REQUEST", data: chunk } satisfies SyncRequest))
    }
    yield* sendTransactions(extra, reply)
    // More pages to come: ask for the next once this one is handled (a page per ask, never the lot).
    if (to !== null) {
      const { count, digest } = yield* pool.summary
      yield* reply(encodeFrame({ type: "SYNC_SUMMARY", data: { count, digest, from: to } } satisfies SyncSummary))
    }
  })

/** A peer asks for transactions: send the ones we hold, as TRANSACTION frames. */
const onRequest = (message: SyncRequest, reply: Reply, budget: SyncBudget) =>
  Effect.gen(function* () {
    const pool = yield* TransactionPool
    const wanted = new Set(message.data)
    const held = [...wanted].filter(pool.holds)
    const found = yield* pool.lookup(held.slice(0, yield* budget.transactions(held.length)))
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
