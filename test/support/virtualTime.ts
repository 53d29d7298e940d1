import { Clock, Duration, Effect, Scheduler } from "effect"

/**
 * Virtual time for large in-memory simulations: a Clock and a Scheduler for the simulated nodes'
 * fibers, driven by the test like TestClock (`advance`), but cheap at thousands of fibers.
 *
 * TestClock wakes one sleeping fiber at a time and, before each, checks that every fiber of the test
 * is suspended (twice, with a timer in between). With 1,000 nodes (tens of thousands of fibers) that
 * costs a large part of a second per wake-up. Here every fiber of the simulated nodes is scheduled
 * through one queue, so "everything is suspended" is simply "the queue is empty": `advance` lets the
 * queue drain, wakes every sleep due at the next instant, and repeats until the target time.
 */
export const makeVirtualTime = () => {
  let now = 0
  let draining = false
  let drainScheduled = false
  let tasks: Array<Scheduler.Task> = []
  const quietWaiters: Array<() => void> = []

  interface Sleeper {
    readonly at: number
    readonly order: number
    readonly wake: () => void
    cancelled: boolean
  }
  // A binary heap of sleepers by (at, order): the earliest first, FIFO among equals.
  const heap: Array<Sleeper> = []
  let order = 0
  const before = (a: Sleeper, b: Sleeper) => a.at < b.at || (a.at === b.at && a.order < b.order)
  const push = (sleeper: Sleeper) => {
    heap.push(sleeper)
    let i = heap.length - 1
    for (;;) {
      const parent = (i - 1) >> 1
      const [child, up] = [heap[i], heap[parent]]
      if (i === 0 || child === undefined || up === undefined || !before(child, up)) return
      heap[i] = up
      heap[parent] = child
      i = parent
    }
  }
  const pop = (): Sleeper | undefined => {
    const top = heap[0]
    const last = heap.pop()
    if (top === undefined || last === undefined || heap.length === 0) return top
    heap[0] = last
    let i = 0
    for (;;) {
      const [l, r] = [2 * i + 1, 2 * i + 2]
      let smallest = i
      const [atL, atR, atS] = [heap[l], heap[r], heap[smallest]]
      if (atL !== undefined && atS !== undefined && before(atL, atS)) smallest = l
      const atS2 = heap[smallest]
      if (atR !== undefined && atS2 !== undefined && before(atR, atS2)) smallest = r
      if (smallest === i) return top
      const [a, b] = [heap[i], heap[smallest]]
      if (a === undefined || b === undefined) return top
      heap[i] = b
      heap[smallest] = a
      i = smallest
    }
  }
  const peek = (): Sleeper | undefined => {
    for (;;) {
      const top = heap[0]
      if (top === undefined || !top.cancelled) return top
      pop()
    }
  }

  const drain = () => {
    drainScheduled = false
    draining = true
    try {
      while (tasks.length > 0) {
        const batch = tasks
        tasks = []
        for (const task of batch) task()
      }
    } finally {
      draining = false
    }
    for (const resolve of quietWaiters.splice(0)) resolve()
  }

  const scheduler: Scheduler.Scheduler = {
    shouldYield: Scheduler.defaultShouldYield,
    scheduleTask: (task) => {
      tasks.push(task)
      if (!draining && !drainScheduled) {
        drainScheduled = true
        setImmediate(drain)
      }
    },
  }

  const clock: Clock.Clock = {
    [Clock.ClockTypeId]: Clock.ClockTypeId,
    unsafeCurrentTimeMillis: () => now,
    unsafeCurrentTimeNanos: () => BigInt(now) * 1_000_000n,
    currentTimeMillis: Effect.sync(() => now),
    currentTimeNanos: Effect.sync(() => BigInt(now) * 1_000_000n),
    sleep: (duration) =>
      Effect.async<void>((resume) => {
        const millis = Duration.toMillis(duration)
        if (millis <= 0) return resume(Effect.void)
        const sleeper: Sleeper = { at: now + millis, order: order++, wake: () => resume(Effect.void), cancelled: false }
        push(sleeper)
        return Effect.sync(() => {
          sleeper.cancelled = true
        })
      }),
  }

  /** Resolves once no simulated fiber has anything left to do at the current instant. */
  const quiet = () =>
    new Promise<void>((resolve) => {
      if (!draining && !drainScheduled && tasks.length === 0) resolve()
      else quietWaiters.push(resolve)
    })

  return {
    /** Runs `effect` (and every fiber it forks) on the virtual clock and scheduler. */
    run: <A, E, R>(effect: Effect.Effect<A, E, R>) =>
      effect.pipe(Effect.withClock(clock), Effect.withScheduler(scheduler)),
    /** Lets the simulation run until `duration` of virtual time has passed and it is quiet again. */
    advance: (duration: Duration.DurationInput) =>
      Effect.promise(async () => {
        const until = now + Duration.toMillis(duration)
        for (;;) {
          await quiet()
          const next = peek()
          if (next === undefined || next.at > until) break
          now = next.at
          while (peek()?.at === now) pop()?.wake()
        }
        now = until
        await quiet()
      }),
    /** Lets the simulation run until it is quiet, without moving the clock. */
    settle: Effect.promise(quiet),
    /** The virtual time, in milliseconds since the start. */
    now: () => now,
  }
}

export type VirtualTime = ReturnType<typeof makeVirtualTime>
