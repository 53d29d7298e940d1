import { Duration, Effect, Layer } from "effect"
import type { Transaction } from "../domain/Transaction.js"
import { defaultPool, type PoolSettings } from "../services/NodeConfig.js"
import { NodeStats, type NodeStatsShape } from "../services/NodeStats.js"
import { TracePropagation } from "../services/TracePropagation.js"
import { type PoolError, TransactionPool } from "../services/TransactionPool.js"
import { writeFileAtomic } from "./atomicWrite.js"
import { readPoolFile } from "./poolFile.js"
import { makePoolHealth } from "./poolHealth.js"
import { makePoolIndex } from "./poolIndex.js"
import type { makeRenderedStore } from "./poolStore.js"
import { makePoolWriter } from "./poolWriter.js"

/** The rendered pool as its writes see it: the file's bytes and how many entries they hold. */
type RenderedPool = Pick<ReturnType<typeof makeRenderedStore>, "file" | "size">

/**
 * One atomic write of everything rendered when it runs. A span per write only when this node exports
 * traces: without a tracer it would show nowhere.
 */
const poolFileWrite = (file: string, rendered: RenderedPool, settings: PoolSettings, tracing: boolean) => {
  const writePool = Effect.async<void, PoolError>((resume) =>
    writeFileAtomic(
      file,
      rendered.file(),
      (error) => resume(error === undefined ? Effect.void : Effect.fail(error)),
      settings.fsync,
    ),
  )
  return tracing
    ? Effect.suspend(() =>
        writePool.pipe(
          Effect.withSpan("TransactionPoolFile.write", {
            attributes: { file, count: rendered.size() },
            captureStackTrace: false,
          }),
        ),
      )
    : writePool
}

/** After each write that succeeded: the pool's health, the write-time histogram, and one debug line. */
const reportWritten =
  (health: { readonly written: (count: number) => Effect.Effect<void> }, stats: NodeStatsShape) =>
  (count: number, duration: Duration.Duration) =>
    health
      .written(count)
      .pipe(
        Effect.zipRight(stats.poolWritten(Duration.toMillis(duration))),
        Effect.zipRight(
          Effect.logDebug("pool written").pipe(
            Effect.annotateLogs({ count, millis: Math.round(Duration.toMillis(duration) * 100) / 100 }),
            Effect.whenLogLevel("Debug"),
          ),
        ),
      )

/**
 * The pool in a transactions.json file, in the spec's format (`JSON.stringify(pool, null, 2)`).
 *
 * Writes are coalesced (poolWriter.ts, which has the rule): the file is rewritten whenever something
 * new was added since the last write. At low load a transaction is written at once, with no batch
 * window; under a burst, everything that arrived during one write and the pause after it goes out in
 * the next, so the number of writes stays small and a transaction reaches the disk within a few writes.
 * The transactions are held once, as the file's bytes (poolStore.ts); a write that fails makes the
 * pool degraded until one succeeds (poolHealth.ts), and everything accepted meanwhile stays in memory.
 */
export const make = (file: string, settings: PoolSettings = defaultPool) =>
  Effect.gen(function* () {
    const rendered = yield* readPoolFile(file)
    const index = yield* makePoolIndex(rendered)
    const stats = yield* NodeStats
    const tracing = yield* TracePropagation

    // Never called before `writer` is defined: its fiber writes (and fails) only after a request,
    // which comes once the layer is built.
    const unwritten = (): number => rendered.size() - writer.persisted()
    const health = yield* makePoolHealth(file, unwritten, index.refusals)
    const writer = yield* makePoolWriter({
      write: poolFileWrite(file, rendered, settings, tracing),
      rendered: rendered.size,
      persisted: rendered.size(),
      // One line per write: how many writes a burst costs, and how long each takes.
      onWritten: reportWritten(health, stats),
      onFailed: health.failed,
    })
    // The writer's fiber stops when the scope closes; finalizers run last first, so this one, added
    // after it, runs before: on shutdown, what was accepted reaches the disk, then the writer stops.
    // A finalizer is uninterruptible: the wait is made interruptible so the timeout can end it (a full disk).
    yield* Effect.addFinalizer(() =>
      Effect.interruptible(writer.flush).pipe(Effect.timeout("5 seconds"), Effect.ignore),
    )

    // What is new reaches the file with the writer's next write.
    const addAll = (txs: ReadonlyArray<Transaction>) =>
      Effect.map(index.addAll(txs), (added) => {
        if (added.length > 0) writer.request()
        return added
      })

    const { refusals: _, ...shape } = index
    return TransactionPool.of({
      ...shape,
      add: (tx) => Effect.map(addAll([tx]), (added) => added.length > 0),
      addAll,
      flush: writer.flush,
      health: health.health,
      healthChanges: health.healthChanges,
    })
  })

export const layer = (file: string, settings: PoolSettings = defaultPool) =>
  Layer.scoped(TransactionPool, make(file, settings))
