import { Effect } from "effect"
import type { PoolError } from "../services/TransactionPool.js"

/**
 * When transactions arrived while a write was under way (a burst), the next write waits until this
 * many times that write's duration has passed, so writes take a bounded share of the time and each
 * carries everything that arrived meanwhile. A single one after a write that did not follow a pause
 * is no burst: it goes out at once.
 */
const burstSpacingFactor = 2

/** A failed write is retried after 100 ms, then twice as long each time, at most every 5 s. */
const retryDelayMillis = (failures: number) => Math.min(100 * 2 ** (failures - 1), 5_000)

export interface PoolWriterOptions {
  /** Writes everything rendered so far, then calls `done` with the error if it failed. */
  readonly write: (done: (error: PoolError | undefined) => void) => void
  /** How many entries are rendered now. */
  readonly rendered: () => number
  /** How many entries the file holds at start. */
  readonly persisted: number
  /** After each write that succeeded: the entries the file now holds, and how long the write took. */
  readonly onWritten: (count: number, millis: number) => void
  /** After each write that failed; it is retried. */
  readonly onFailed: (error: PoolError) => void
}

/**
 * Keeps a file in step with a growing pool: `request` after each addition. At low load the write
 * starts at once (in a microtask, so the frames of one socket read, and the relays they cause, go
 * first and share the write); everything added during a write goes out in the next one: at once if
 * it is one transaction and the write did not follow a pause, otherwise (a burst) after a pause
 * (`burstSpacingFactor`). A failed write is retried until it succeeds, and the next write carries
 * everything.
 *
 * Plain callbacks, not a fiber: a node writes its pool once per transaction at low load, and waking a
 * writer fiber for each write cost a receiving node about a fifth of its CPU per transaction
 * (bench/README.md, "Where the time goes"). The state is this writer's own; `close` (the pool's scope
 * finalizer) stops it.
 */
export const makePoolWriter = (options: PoolWriterOptions) => {
  let persisted = options.persisted
  let writing = false
  // A write is due: in a microtask, or after a pause (`timer`).
  let due = false
  let timer: ReturnType<typeof setTimeout> | undefined
  let failures = 0
  let closed = false
  const waiters = new Set<{ readonly target: number; readonly resume: () => void }>()

  const start = (afterPause: boolean) => {
    due = false
    timer = undefined
    if (closed || writing) return
    const count = options.rendered()
    if (count <= persisted) return
    writing = true
    const startedAt = performance.now()
    options.write((error) => {
      writing = false
      const millis = performance.now() - startedAt
      if (error !== undefined) {
        failures++
        options.onFailed(error)
        return after(retryDelayMillis(failures))
      }
      failures = 0
      persisted = count
      options.onWritten(count, millis)
      for (const waiter of waiters) if (persisted >= waiter.target) waiter.resume()
      // One transaction that came during a write that did not follow a pause (the next of a client that
      // waits to see each in the file, sent before this callback ran) is not a burst: it is written now
      // rather than twice the write's time later.
      const arrived = options.rendered() - count
      if (arrived === 1 && !afterPause) soon()
      else if (arrived > 0) after(millis * burstSpacingFactor)
    })
  }

  const soon = () => {
    if (closed) return
    due = true
    queueMicrotask(() => start(false))
  }

  const after = (millis: number) => {
    if (closed) return
    due = true
    timer = setTimeout(start, millis, true)
  }

  return {
    /** Something was added: it reaches the file with the next write. */
    request: (): void => {
      if (!writing && !due) soon()
    },
    /** Waits until everything rendered so far is in the file. */
    flush: Effect.async<void>((resume) => {
      const target = options.rendered()
      if (persisted >= target) return resume(Effect.void)
      const waiter = {
        target,
        resume: () => {
          waiters.delete(waiter)
          resume(Effect.void)
        },
      }
      waiters.add(waiter)
      return Effect.sync(() => waiters.delete(waiter))
    }),
    /** Starts no further write (one under way completes). */
    close: Effect.sync(() => {
      closed = true
      if (timer !== undefined) clearTimeout(timer)
    }),
  }
}
