import { Clock, Data, Duration, Effect, Option, Ref } from "effect"
import { PeerStore } from "../services/PeerStore.js"
import { TransactionPool } from "../services/TransactionPool.js"

/**
 * How long a stopping node waits for its pool to reach the disk while writes fail (a full disk never
 * lets it), and how often it looks again while they succeed but take time.
 */
const flushCheck = Duration.seconds(5)

/**
 * How long it waits at most while writes succeed: each rewrites the whole file, which for a large pool
 * on a busy disk takes seconds, and the last transactions need one or two more.
 */
const flushLimit = Duration.seconds(60)

/**
 * A node stopped with transactions it never wrote to its pool file. Not an error a caller handles: the
 * shutdown's finalizer dies with it, so the node's exit is a failure and the process exits non-zero
 * (main.ts), after the line that says how many.
 */
export class UnwrittenAtStop extends Data.TaggedError("UnwrittenAtStop")<{ readonly unwritten: number }> {}

/**
 * What a node says when it stops: `stopping` as its shutdown begins (how many connections it closes,
 * how many transactions it holds), then `stopped` once its connections are closed and its pool is on
 * disk, or an error that says how many transactions are not if it is not there in time (and the
 * node's exit fails: `UnwrittenAtStop`). What the node relayed, its peers hold, and the catch-up sync
 * brings it back when the node starts again, which the error says.
 *
 * `stopping` is a finalizer added last (it runs first), `stopped` one added first (it runs last); a node
 * that never finished starting says neither.
 */
export const makeShutdownReport = Effect.gen(function* () {
  const pool = yield* TransactionPool
  const peers = yield* PeerStore
  const stoppingSince = yield* Ref.make(Option.none<number>())

  const stopping = Effect.gen(function* () {
    yield* Ref.set(stoppingSince, Option.some(yield* Clock.currentTimeMillis))
    const { connected } = yield* peers.snapshot
    yield* Effect.logInfo("stopping").pipe(
      Effect.annotateLogs({ connections: connected.length, pool: yield* pool.size }),
    )
  })

  /**
   * Waits for the pool to reach its file: as long as its writes succeed (up to `flushLimit`),
   * `flushCheck` once they fail. Answers how long it waited, if it gave up.
   */
  const waitForPool = Effect.gen(function* () {
    for (let waited = flushCheck; ; waited = Duration.sum(waited, flushCheck)) {
      const flushed = yield* Effect.interruptible(pool.flush).pipe(Effect.timeout(flushCheck), Effect.option)
      if (Option.isSome(flushed)) return Option.none<Duration.Duration>()
      const { degraded } = yield* pool.health
      if (degraded || Duration.greaterThanOrEqualTo(waited, flushLimit)) return Option.some(waited)
    }
  })

  const stopped = Effect.gen(function* () {
    const since = yield* Ref.get(stoppingSince)
    if (Option.isNone(since)) return
    const gaveUp = yield* waitForPool
    const held = yield* pool.size
    const { unwritten } = yield* pool.health
    if (Option.isSome(gaveUp) && unwritten > 0) {
      yield* Effect.logError(
        `stopped with ${unwritten} transaction${unwritten === 1 ? "" : "s"} not written to transactions.json; peers that received them give them back when the node starts again`,
      ).pipe(Effect.annotateLogs({ pool: held, unwritten, waited: `${Duration.toSeconds(gaveUp.value)} seconds` }))
      return yield* Effect.die(new UnwrittenAtStop({ unwritten }))
    }
    const millis = (yield* Clock.currentTimeMillis) - since.value
    yield* Effect.logInfo("stopped").pipe(Effect.annotateLogs({ pool: held, millis }))
  })

  return { stopping, stopped }
})
