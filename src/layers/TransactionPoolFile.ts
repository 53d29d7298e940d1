import { FileSystem } from "@effect/platform"
import { Duration, Effect, Layer, Queue, Schedule, Stream, SubscriptionRef } from "effect"
import type { Transaction } from "../domain/Transaction.js"
import { TransactionPool } from "../services/TransactionPool.js"
import { readPoolFile, renderPool, renderPoolEntry, writeFileAtomic } from "./poolFile.js"
import { makePoolIndex } from "./poolIndex.js"

/** The pause after each write; what arrives meanwhile goes out together in the next one. */
const writeSpacing = Duration.millis(20)

/**
 * The pool in a transactions.json file, in the spec's format (`JSON.stringify(pool, null, 2)`).
 *
 * Writes are coalesced: one writer fiber rewrites the file whenever something new was added since
 * its last write. At low load a transaction is written at once; under a burst, everything that
 * arrived during one write and the short pause after it goes out in the next, so the number of
 * writes stays small and a transaction reaches the disk within about two writes and a pause.
 */
export const make = (file: string) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const initial = yield* readPoolFile(file)
    const index = yield* makePoolIndex(initial)
    const entries = initial.map(renderPoolEntry)
    const wake = yield* Queue.dropping<void>(1)
    const persistedCount = yield* SubscriptionRef.make(entries.length)

    const writeOnce = Effect.suspend(() => {
      const count = entries.length
      return writeFileAtomic(file, renderPool(entries)).pipe(
        Effect.timed,
        // One line per write: how many writes a burst costs, and how long each takes.
        Effect.tap(([took]) =>
          Effect.logDebug("pool written").pipe(Effect.annotateLogs({ count, millis: Duration.toMillis(took) })),
        ),
        Effect.andThen(SubscriptionRef.set(persistedCount, count)),
        Effect.withSpan("TransactionPoolFile.write", { attributes: { file, count } }),
      )
    })

    const writeUntilDone = writeOnce.pipe(
      Effect.tapError((error) => Effect.logError("pool write failed; retrying", error.message)),
      Effect.retry(Schedule.exponential("100 millis").pipe(Schedule.union(Schedule.spaced("5 seconds")))),
    )

    yield* Queue.take(wake).pipe(
      Effect.andThen(writeUntilDone),
      // Under a burst, writes start at most every few ms apart: fewer writes, each at most this much later.
      Effect.andThen(Effect.sleep(writeSpacing)),
      Effect.forever,
      Effect.provideService(FileSystem.FileSystem, fs),
      Effect.forkScoped,
    )

    const add = (tx: Transaction) =>
      index.add(tx).pipe(
        Effect.tap((isNew) => {
          if (!isNew) return Effect.void
          entries.push(renderPoolEntry(tx))
          return Queue.offer(wake, undefined)
        }),
      )

    const flush = Effect.suspend(() => {
      const target = entries.length
      return persistedCount.changes.pipe(
        Stream.takeUntil((count) => count >= target),
        Stream.runDrain,
      )
    })

    // On shutdown, what was accepted reaches the disk before the node exits.
    yield* Effect.addFinalizer(() => flush.pipe(Effect.timeout("5 seconds"), Effect.ignore))

    return TransactionPool.of({ ...index, add, flush })
  })

export const layer = (file: string) => Layer.scoped(TransactionPool, make(file))
