import { Cause, Effect, Exit, Layer, LogLevel, Option, Runtime } from "effect"
import { isLogged } from "../domain/isLogged.js"
import type { Transaction } from "../domain/Transaction.js"
import { defaultPool, type PoolSettings } from "../services/NodeConfig.js"
import { TracePropagation } from "../services/TracePropagation.js"
import { PoolError, TransactionPool } from "../services/TransactionPool.js"
import { makeRenderedPool, readPoolFile, writeFileAtomic } from "./poolFile.js"
import { makePoolIndex } from "./poolIndex.js"
import { makePoolWriter } from "./poolWriter.js"

/**
 * The pool in a transactions.json file, in the spec's format (`JSON.stringify(pool, null, 2)`).
 *
 * Writes are coalesced (poolWriter.ts, which has the rule): the file is rewritten whenever something
 * new was added since the last write. At low load a transaction is written at once, with no batch
 * window; under a burst, everything that arrived during one write and the pause after it goes out in
 * the next, so the number of writes stays small and a transaction reaches the disk within a few writes.
 */
export const make = (file: string, settings: PoolSettings = defaultPool) =>
  Effect.gen(function* () {
    const initial = yield* readPoolFile(file)
    const index = yield* makePoolIndex(initial)
    const rendered = makeRenderedPool(initial)
    const logWrites = yield* isLogged(LogLevel.Debug)
    const traced = yield* TracePropagation
    // The writer's log lines and spans are made with the layer's own runtime (its logger and annotations).
    const runtime = yield* Effect.runtime<never>()
    const runSync = Runtime.runSync(runtime)
    const runCallback = Runtime.runCallback(runtime)

    const writeNow = (done: (error: PoolError | undefined) => void) =>
      writeFileAtomic(file, rendered.file(), done, settings.fsync)
    const writeInSpan = (done: (error: PoolError | undefined) => void) =>
      runCallback(
        Effect.async<void, PoolError>((resume) =>
          writeNow((error) => resume(error === undefined ? Effect.void : Effect.fail(error))),
        ).pipe(Effect.withSpan("TransactionPoolFile.write", { attributes: { file, count: rendered.count() } })),
        {
          onExit: (exit) =>
            done(
              Exit.isSuccess(exit)
                ? undefined
                : Option.getOrElse(
                    Cause.failureOption(exit.cause),
                    () => new PoolError({ reason: "WriteFailed", file, message: Cause.pretty(exit.cause) }),
                  ),
            ),
        },
      )

    const writer = makePoolWriter({
      write: traced ? writeInSpan : writeNow,
      rendered: rendered.count,
      persisted: rendered.count(),
      // One line per write: how many writes a burst costs, and how long each takes.
      onWritten: (count, millis) => {
        if (logWrites)
          runSync(
            Effect.logDebug("pool written").pipe(
              Effect.annotateLogs({ count, millis: Math.round(millis * 100) / 100 }),
            ),
          )
      },
      onFailed: (error) => runSync(Effect.logError("pool write failed; retrying", error.message)),
    })
    // Finalizers run last first: on shutdown, what was accepted reaches the disk, then the writer stops.
    // A finalizer is uninterruptible: the wait is made interruptible so the timeout can end it (a full disk).
    yield* Effect.addFinalizer(() => writer.close)
    yield* Effect.addFinalizer(() =>
      Effect.interruptible(writer.flush).pipe(Effect.timeout("5 seconds"), Effect.ignore),
    )

    const unsafeAddAll = (txs: ReadonlyArray<Transaction>) => {
      const added = index.unsafeAddAll(txs)
      if (added.length === 0) return added
      for (const tx of added) rendered.append(tx)
      writer.request()
      return added
    }
    const addAll = (txs: ReadonlyArray<Transaction>) => Effect.sync(() => unsafeAddAll(txs))

    return TransactionPool.of({
      ...index,
      add: (tx) => Effect.map(addAll([tx]), (added) => added.length > 0),
      addAll,
      unsafeAddAll,
      flush: writer.flush,
    })
  })

export const layer = (file: string, settings: PoolSettings = defaultPool) =>
  Layer.scoped(TransactionPool, make(file, settings))
