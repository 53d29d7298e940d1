import { FileSystem } from "@effect/platform"
import { Duration, Effect, Layer, Queue, Schedule, Stream, SubscriptionRef } from "effect"
import type { Transaction } from "../domain/Transaction.js"
import { TransactionPool } from "../services/TransactionPool.js"
import { makeRenderedPool, readPoolFile, writeFileAtomic } from "./poolFile.js"
import { makePoolIndex } from "./poolIndex.js"

/**
 * The pool in a transactions.json file, in the spec's format (`JSON.stringify(pool, null, 2)`).
 *
 * Writes are coalesced: one writer fiber rewrites the file whenever something new was added since
 * its last write. At low load a transaction is written at once, with no batch window; under a burst,
 * everything that arrived during one write (and, in a burst, a pause as long as two writes) goes out
 * in the next, so the number of writes stays small and a transaction reaches the disk within a few writes.
 */
export const make = (file: string) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const initial = yield* readPoolFile(file)
    const index = yield* makePoolIndex(initial)
    const rendered = makeRenderedPool(initial)
    const wake = yield* Queue.dropping<void>(1)
    const persistedCount = yield* SubscriptionRef.make(rendered.count())

    const writeOnce = Effect.suspend(() => {
      const count = rendered.count()
      return writeFileAtomic(file, rendered.file()).pipe(
        Effect.timed,
        // One line per write: how many writes a burst costs, and how long each takes.
        Effect.tap(([took]) =>
          Effect.logDebug("pool written").pipe(Effect.annotateLogs({ count, millis: Duration.toMillis(took) })),
        ),
        Effect.andThen(SubscriptionRef.set(persistedCount, count)),
        Effect.withSpan("TransactionPoolFile.write", { attributes: { file, count }, captureStackTrace: false }),
      )
    })

    const writeUntilDone = writeOnce.pipe(
      Effect.tapError((error) => Effect.logError("pool write failed; retrying", error.message)),
      Effect.retry(Schedule.exponential("100 millis").pipe(Schedule.union(Schedule.spaced("5 seconds")))),
    )

    // When transactions arrived while a write was under way (a burst), the next write waits until
    // twice that write's time has passed, so writes take a bounded share of the time and each carries
    // everything that arrived meanwhile. Otherwise (low load) the next transaction goes to disk at once.
    const burstSpacingFactor = 2
    yield* Effect.gen(function* () {
      yield* Queue.take(wake)
      const [took] = yield* Effect.timed(writeUntilDone)
      if ((yield* Queue.size(wake)) > 0) yield* Effect.sleep(Duration.times(took, burstSpacingFactor))
    }).pipe(Effect.forever, Effect.provideService(FileSystem.FileSystem, fs), Effect.forkScoped)

    const addAll = (txs: ReadonlyArray<Transaction>) =>
      index.addAll(txs).pipe(
        Effect.tap((added) => {
          if (added.length === 0) return Effect.void
          for (const tx of added) rendered.append(tx)
          return Queue.offer(wake, undefined)
        }),
      )

    const flush = Effect.suspend(() => {
      const target = rendered.count()
      return persistedCount.changes.pipe(
        Stream.takeUntil((count) => count >= target),
        Stream.runDrain,
      )
    })

    // On shutdown, what was accepted reaches the disk before the node exits.
    yield* Effect.addFinalizer(() => flush.pipe(Effect.timeout("5 seconds"), Effect.ignore))

    return TransactionPool.of({
      ...index,
      add: (tx) => Effect.map(addAll([tx]), (added) => added.length > 0),
      addAll,
      flush,
    })
  })

export const layer = (file: string) => Layer.scoped(TransactionPool, make(file))
