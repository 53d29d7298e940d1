import { Deferred, Duration, Effect, Schedule } from "effect"
import type { PoolError } from "../services/TransactionPool.js"

/**
 * When transactions arrived while a write was under way (a burst), the next write waits until this
 * many times that write's duration has passed, so writes take a bounded share of the time and each
 * carries everything that arrived meanwhile. A single one after a write that did not follow a pause
 * is no burst: it goes out at once.
 */
const burstSpacingFactor = 2

/**
 * A failed write is retried after 100 ms, then twice as long each time, at most every 5 s: the first
 * delay, then a schedule for the rest (built only once a write failed).
 */
const firstRetryDelay = Duration.millis(100)
const laterRetries = Schedule.exponential(Duration.times(firstRetryDelay, 2)).pipe(
  Schedule.union(Schedule.spaced("5 seconds")),
)

export interface PoolWriterOptions {
  /** Writes everything rendered when it runs. */
  readonly write: Effect.Effect<void, PoolError>
  /** How many entries are rendered now. */
  readonly rendered: () => number
  /** How many entries the file holds at start. */
  readonly persisted: number
  /** After each write that succeeded: the entries the file now holds, and how long the write took. */
  readonly onWritten: (count: number, duration: Duration.Duration) => Effect.Effect<void>
  /** After each write that failed; it is retried. */
  readonly onFailed: (error: PoolError) => Effect.Effect<void>
}

/**
 * Writes what is rendered when it runs, timed on the Clock, retrying (`laterRetries`) until a write
 * succeeds; says whether it had to retry.
 */
const makeWriteUntilDone = (options: Pick<PoolWriterOptions, "write" | "rendered" | "onFailed">) => {
  // One attempt: what is rendered now, timed on the Clock.
  const attempt = Effect.suspend(() => {
    const count = options.rendered()
    return Effect.map(Effect.timed(options.write), ([duration]) => ({ count, duration }))
  }).pipe(Effect.uninterruptible)

  // The first attempt runs plainly; only a failure builds the retry schedule (a write per
  // transaction at low load should cost no more than it must).
  const retried = (error: PoolError) =>
    options.onFailed(error).pipe(
      Effect.zipRight(Effect.sleep(firstRetryDelay)),
      Effect.zipRight(Effect.retry(Effect.tapError(attempt, options.onFailed), { schedule: laterRetries })),
      Effect.map((done) => ({ ...done, retried: true })),
    )
  return attempt.pipe(
    Effect.map((done) => ({ ...done, retried: false })),
    Effect.catchAll(retried),
  )
}

/**
 * Keeps a file in step with a growing pool: `request` after each addition. One fiber does every
 * write; `request` opens a latch it waits on, so it is woken once per write however many requests
 * came meanwhile. At low load the write starts at once (the fiber runs in a microtask, so the frames
 * of one socket read, and the relays they cause, go first and share the write); everything added
 * during a write goes out in the next one: at once if it is one transaction and the write did not
 * follow a pause, otherwise (a burst) after a pause (`burstSpacingFactor`) on the Clock. A failed
 * write is retried (`laterRetries`) until it succeeds, and each attempt carries everything.
 *
 * Scoped: closing the scope starts no further write; one under way completes (a write is
 * uninterruptible, so the file is never left half-renamed).
 */
export const makePoolWriter = (options: PoolWriterOptions) =>
  Effect.gen(function* () {
    const wake = yield* Effect.makeLatch(false)
    let persisted = options.persisted
    const waiters = new Set<{ readonly target: number; readonly done: Deferred.Deferred<void> }>()

    const writeUntilDone = makeWriteUntilDone(options)

    const written = (count: number) => {
      persisted = count
      for (const waiter of waiters) if (persisted >= waiter.target) Deferred.unsafeDone(waiter.done, Effect.void)
    }

    const run = Effect.gen(function* () {
      // Whether the next write follows a pause (a burst's, or a failed write's retry delay).
      let followsPause = false
      while (true) {
        yield* wake.await
        // Closed before the count is read: whatever is added from now on opens it again.
        wake.unsafeClose()
        if (options.rendered() <= persisted) continue
        const { count, duration, retried } = yield* writeUntilDone
        written(count)
        yield* options.onWritten(count, duration)
        // One transaction that came during a write that did not follow a pause (the next of a client
        // that waits to see each in the file) is not a burst: the latch is open, it is written now.
        const arrived: number = options.rendered() - count
        const burst: boolean = arrived > 1 || (arrived === 1 && (followsPause || retried))
        followsPause = burst
        if (burst) yield* Effect.sleep(Duration.times(duration, burstSpacingFactor))
      }
    })
    yield* Effect.forkScoped(run)

    return {
      /** Something was added: it reaches the file with the next write. A plain call. */
      request: (): void => wake.unsafeOpen(),
      /** How many entries the file holds. */
      persisted: (): number => persisted,
      /** Waits until everything rendered so far is in the file. */
      flush: Effect.suspend(() => {
        const target = options.rendered()
        if (persisted >= target) return Effect.void
        return Effect.flatMap(Deferred.make<void>(), (done) => {
          const waiter = { target, done }
          waiters.add(waiter)
          return Deferred.await(done).pipe(Effect.ensuring(Effect.sync(() => waiters.delete(waiter))))
        })
      }),
    }
  })
