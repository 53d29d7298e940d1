import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Option, Queue, Ref, Scope, TestClock, TestServices } from "effect"
import { makePoolWriter } from "../src/layers/poolWriter.js"
import { PoolError } from "../src/services/TransactionPool.js"

/**
 * How long a simulated write takes on the (test) clock. A write is uninterruptible: each test lets
 * the last one finish, or its scope would wait for it.
 */
const diskMillis = 20

/**
 * A writer over a fake file on the TestClock: `add` renders more entries; each write records what it
 * carries in `started`, takes `diskMillis` and fails while `failing` is set. `done` lists what was
 * written, write by write.
 */
const makeTestWriter = Effect.gen(function* () {
  let rendered = 0
  const failing = yield* Ref.make(false)
  const started = yield* Queue.unbounded<number>()
  const done = yield* Ref.make<ReadonlyArray<number>>([])
  const write = Effect.gen(function* () {
    const count = rendered
    yield* Queue.offer(started, count)
    yield* Effect.sleep(`${diskMillis} millis`)
    if (yield* Ref.get(failing)) return yield* new PoolError({ reason: "WriteFailed", file: "fake", message: "ENOSPC" })
    yield* Ref.update(done, (all) => [...all, count])
  })
  const writer = yield* makePoolWriter({
    write,
    rendered: () => rendered,
    persisted: 0,
    onWritten: () => Effect.void,
    onFailed: () => Effect.void,
  })
  const add = (count = 1) => {
    rendered += count
    writer.request()
  }
  /** Waits for the next write to start (never long: the wait is bounded on the real clock). */
  const nextWrite = TestServices.provideLive(Effect.timeout(Queue.take(started), "2 seconds"))
  /** Whether a write started that the test has not taken yet. */
  const pending = Effect.map(Queue.size(started), (size) => size > 0)
  return { writer, add, nextWrite, pending, failing, done }
})

const wait = (millis: number) => TestClock.adjust(`${millis} millis`)

describe("the pool writer", () => {
  it.scoped("at low load one transaction that arrives during a write goes out at once, with no pause", () =>
    Effect.gen(function* () {
      const { add, nextWrite, done } = yield* makeTestWriter
      add()
      expect(yield* nextWrite).toBe(1)
      // The next transaction of a client that waits to see each in the file, before the write ends.
      add()
      yield* wait(diskMillis)
      expect(yield* Ref.get(done)).toEqual([1])
      expect(yield* nextWrite).toBe(2)
      yield* wait(diskMillis)
    }),
  )

  it.scoped(
    "a burst during a write waits twice the write's time, then goes out in one write; so does what follows",
    () =>
      Effect.gen(function* () {
        const { add, nextWrite, pending } = yield* makeTestWriter
        add()
        expect(yield* nextWrite).toBe(1)
        add(5)
        yield* wait(diskMillis)
        yield* wait(2 * diskMillis - 1)
        expect(yield* pending).toBe(false)
        yield* wait(1)
        expect(yield* nextWrite).toBe(6)
        // After a pause even one more is part of the burst: it waits for the next pause too.
        add()
        yield* wait(diskMillis)
        yield* wait(2 * diskMillis - 1)
        expect(yield* pending).toBe(false)
        yield* wait(1)
        expect(yield* nextWrite).toBe(7)
        yield* wait(diskMillis)
      }),
  )

  it.scoped("nothing added, nothing written; each write at low load starts at once", () =>
    Effect.gen(function* () {
      const { add, nextWrite, pending, done } = yield* makeTestWriter
      yield* wait(10_000)
      expect(yield* pending).toBe(false)
      for (const expected of [1, 2, 3]) {
        add()
        expect(yield* nextWrite).toBe(expected)
        yield* wait(diskMillis)
      }
      expect(yield* Ref.get(done)).toEqual([1, 2, 3])
    }),
  )

  it.scoped("a failing write is retried after 100 ms, doubling to at most 5 s, each attempt carrying everything", () =>
    Effect.gen(function* () {
      const { add, nextWrite, pending, failing, done, writer } = yield* makeTestWriter
      yield* Ref.set(failing, true)
      add()
      expect(yield* nextWrite).toBe(1)
      const flushed = yield* Effect.fork(writer.flush)
      // Each failed attempt takes diskMillis; the delays after it grow from 100 ms and stop at 5 s.
      let added = 1
      for (const delay of [100, 200, 400, 800, 1_600, 3_200, 5_000, 5_000]) {
        yield* wait(diskMillis + delay - 1)
        expect(yield* pending).toBe(false)
        add()
        added++
        yield* wait(1)
        expect(yield* nextWrite).toBe(added)
      }
      expect(yield* Ref.get(done)).toEqual([])
      yield* Ref.set(failing, false)
      yield* wait(diskMillis)
      expect(yield* Ref.get(done)).toEqual([9])
      yield* Fiber.join(flushed)
    }),
  )

  it.scoped("flush waits until everything added so far is written, and returns at once when it is", () =>
    Effect.gen(function* () {
      const { add, nextWrite, writer, done } = yield* makeTestWriter
      yield* writer.flush
      add()
      yield* nextWrite
      add(2)
      const flushed = yield* Effect.fork(writer.flush)
      yield* wait(diskMillis)
      expect(yield* Ref.get(done)).toEqual([1])
      expect(yield* Fiber.poll(flushed)).toEqual(Option.none())
      yield* wait(2 * diskMillis)
      expect(yield* nextWrite).toBe(3)
      yield* wait(diskMillis)
      yield* Fiber.join(flushed)
      expect(yield* Ref.get(done)).toEqual([1, 3])
      yield* writer.flush
    }),
  )

  it.effect("closing its scope lets a write under way complete and starts no further one", () =>
    Effect.gen(function* () {
      const scope = yield* Scope.make()
      const { add, nextWrite, pending, done } = yield* Scope.extend(makeTestWriter, scope)
      add()
      yield* nextWrite
      const closing = yield* Effect.fork(Scope.close(scope, Exit.void))
      add()
      yield* wait(diskMillis)
      yield* Fiber.join(closing)
      expect(yield* Ref.get(done)).toEqual([1])
      yield* wait(10_000)
      expect(yield* pending).toBe(false)
    }),
  )
})
