import { describe, expect, it } from "@effect/vitest"
import { Effect, TestClock } from "effect"
import { makeTransaction, type Transaction } from "../src/domain/Transaction.js"
import * as TransactionPoolMemory from "../src/layers/TransactionPoolMemory.js"
import * as TransportMemory from "../src/layers/TransportMemory.js"
import { PAGE, poolSummary } from "../src/protocol/sync.js"
import { makeSyncBudgets, SYNC_BUDGET } from "../src/protocol/syncBudget.js"
import { fakePeer, record, send, startMemoryNode } from "./support/memoryNode.js"

const txs = (from: number, to: number): Array<Transaction> =>
  Array.from({ length: to - from }, (_, i) =>
    makeTransaction({ fromAddress: null, toAddress: "04abcdef", amount: 1 + ((from + i) % 100), timeStamp: from + i }),
  )

const emptySummary = poolSummary.pipe(Effect.provide(TransactionPoolMemory.layer([])))

describe("the catch-up sync does not amplify", () => {
  it.scoped("a summary earns one page of hashes; the next page only when asked for", () =>
    Effect.gen(function* () {
      const pool = txs(0, PAGE + 10)
      const sorted = pool.map((tx) => tx.hash).sort()
      const node = yield* startMemoryNode(4001, [], { pool })
      const peer = yield* fakePeer(4105)
      const toNode = yield* record(yield* peer.dial(node.address))
      const wrong = yield* emptySummary
      yield* send(toNode.connection, { type: "HANDSHAKE", data: [peer.address] })
      yield* send(toNode.connection, wrong)
      expect(yield* toNode.nextMessage).toEqual({
        type: "SYNC_HASHES",
        data: { from: "", to: sorted[PAGE], hashes: sorted.slice(0, PAGE) },
      })
      // Frames are handled in order: once this transaction comes back, nothing else was sent before it.
      const [first] = pool
      if (first === undefined) return
      yield* send(toNode.connection, { type: "SYNC_REQUEST", data: [first.hash] })
      expect(yield* toNode.nextMessage).toEqual({ type: "TRANSACTION", data: first })
      const next = sorted[PAGE] ?? ""
      yield* send(toNode.connection, { type: "SYNC_SUMMARY", data: { ...wrong.data, from: next } })
      expect(yield* toNode.nextMessage).toEqual({
        type: "SYNC_HASHES",
        data: { from: next, to: null, hashes: sorted.slice(PAGE) },
      })
    }).pipe(Effect.provide(TransportMemory.layerNetwork)),
  )

  it.scoped("the page budget is per IP: a peer that reconnects does not get a fresh one", () =>
    Effect.gen(function* () {
      const [t1] = txs(0, 1)
      if (t1 === undefined) return
      const node = yield* startMemoryNode(4001, [], { pool: [t1] })
      const peer = yield* fakePeer(4105)
      const wrong = yield* emptySummary
      const pagesFrom = (summaries: number) =>
        Effect.gen(function* () {
          const toNode = yield* record(yield* peer.dial(node.address))
          yield* send(toNode.connection, { type: "HANDSHAKE", data: [peer.address] })
          for (let i = 0; i < summaries; i++) yield* send(toNode.connection, wrong)
          // Frames are handled in order: once t1 comes back, every summary before it has been handled.
          yield* send(toNode.connection, { type: "SYNC_REQUEST", data: [t1.hash] })
          let pages = 0
          for (;;) {
            const message = yield* toNode.nextMessage
            if (message.type === "TRANSACTION") return pages
            if (message.type === "SYNC_HASHES") pages++
          }
        }).pipe(Effect.scoped)
      const capacity = SYNC_BUDGET.pages.capacity
      expect(yield* pagesFrom(capacity - 5)).toBe(capacity - 5)
      // A new connection from the same IP: only what the budget had left.
      expect(yield* pagesFrom(20)).toBe(5)
    }).pipe(Effect.provide(TransportMemory.layerNetwork)),
  )

  it.effect("transactions are granted per IP up to the capacity, then at the rate, whatever the connection", () =>
    Effect.gen(function* () {
      const budgetOf = yield* makeSyncBudgets
      const { capacity, perSecond } = SYNC_BUDGET.transactions
      expect(yield* budgetOf("10.0.0.1").transactions(capacity + 10)).toBe(capacity)
      // The same IP on another connection (IPv4-mapped, as a dual-stack socket reports it) has nothing left.
      expect(yield* budgetOf("::ffff:10.0.0.1").transactions(10)).toBe(0)
      expect(yield* budgetOf("10.0.0.2").transactions(10)).toBe(10)
      yield* TestClock.adjust("1 second")
      expect(yield* budgetOf("10.0.0.1").transactions(5_000)).toBe(perSecond)
    }),
  )
})
