import { Duration, Effect, Layer, LogLevel, Queue, Schedule } from "effect"
import { isLogged } from "../domain/isLogged.js"
import type { Transaction } from "../domain/Transaction.js"
import { TracePropagation } from "../services/TracePropagation.js"
import { type PoolError, TransactionPool } from "../services/TransactionPool.js"
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
    const initial = yield* readPoolFile(file)
    const index = yield* makePoolIndex(initial)
    const rendered = makeRenderedPool(initial)
    const wake = yield* Queue.dropping<void>(1)
    // How many entries the file holds; flush waits on `written`, signalled only while someone waits.
    let persisted = rendered.count()
    let waiting = 0
    const written = yield* Queue.sliding<void>(1)
    const logWrites = yield* isLogged(LogLevel.Debug)
    const traced = yield* TracePropagation

    const writeOnce = Effect.suspend(() => {
      const count = rendered.count()
      const write = writeFileAtomic(file, rendered.file()).pipe(
        Effect.timed,
        Effect.flatMap(([took]) => {
          persisted = count
          if (waiting > 0) written.unsafeOffer(undefined)
          // One line per write: how many writes a burst costs, and how long each takes.
          return logWrites
            ? Effect.logDebug("pool written").pipe(Effect.annotateLogs({ count, millis: Duration.toMillis(took) }))
            : Effect.void
        }),
      )
      return traced ? Effect.withSpan(write, "TransactionPoolFile.write", { attributes: { file, count } }) : write
    })

    // A failed write (a full disk, say) is retried until it succeeds; the next one carries everything.
    // The retry's schedule is set up only once a write has failed.
    const logFailure = (error: PoolError) => Effect.logError("pool write failed; retrying", error.message)
    const writeUntilDone = Effect.catchAll(writeOnce, (error) =>
      logFailure(error).pipe(
        Effect.zipRight(Effect.sleep("100 millis")),
        Effect.zipRight(
          writeOnce.pipe(
            Effect.tapError(logFailure),
            Effect.retry(Schedule.exponential("100 millis").pipe(Schedule.union(Schedule.spaced("5 seconds")))),
          ),
        ),
      ),
    )

    // When transactions arrived while a write was under way (a burst), the next write waits until
    // twice that write's time has passed, so writes take a bounded share of the time and each carries
    // everything that arrived meanwhile. Otherwise (low load) the next transaction goes to disk at once.
    const burstSpacingFactor = 2
    const writeWhenWoken = Queue.take(wake).pipe(
      Effect.zipRight(Effect.timed(writeUntilDone)),
      Effect.flatMap(([took]) =>
        Effect.flatMap(Queue.size(wake), (queued) =>
          queued > 0 ? Effect.sleep(Duration.times(took, burstSpacingFactor)) : Effect.void,
        ),
      ),
    )
    yield* Effect.forever(writeWhenWoken).pipe(Effect.forkScoped)

    const unsafeAddAll = (txs: ReadonlyArray<Transaction>) => {
      const added = index.unsafeAddAll(txs)
      if (added.length === 0) return added
      for (const tx of added) rendered.append(tx)
      wake.unsafeOffer(undefined)
      return added
    }
    const addAll = (txs: ReadonlyArray<Transaction>) => Effect.sync(() => unsafeAddAll(txs))

    const flush = Effect.suspend(() => {
      const target = rendered.count()
      waiting++
      const check: Effect.Effect<void> = Effect.suspend(() =>
        persisted >= target ? Effect.void : Effect.zipRight(Queue.take(written), check),
      )
      return Effect.ensuring(
        check,
        Effect.sync(() => {
          waiting--
        }),
      )
    })

    // On shutdown, what was accepted reaches the disk before the node exits.
    yield* Effect.addFinalizer(() => flush.pipe(Effect.timeout("5 seconds"), Effect.ignore))

    return TransactionPool.of({
      ...index,
      add: (tx) => Effect.map(addAll([tx]), (added) => added.length > 0),
      addAll,
      unsafeAddAll,
      flush,
    })
  })

export const layer = (file: string) => Layer.scoped(TransactionPool, make(file))
