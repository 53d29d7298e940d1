import { describe, expect, it } from "@effect/vitest"
import { makePoolWriter } from "../src/layers/poolWriter.js"
import type { PoolError } from "../src/services/TransactionPool.js"

/**
 * A writer over a fake file: `added` counts what the pool rendered; each write waits until the test
 * completes it, so the test decides what arrives during a write.
 */
const makeTestWriter = () => {
  let rendered = 0
  const writes: Array<{ readonly count: number; readonly complete: () => void }> = []
  let onWrite: (() => void) | undefined
  const writer = makePoolWriter({
    write: (done: (error: PoolError | undefined) => void) => {
      writes.push({ count: rendered, complete: () => done(undefined) })
      onWrite?.()
    },
    rendered: () => rendered,
    persisted: 0,
    onWritten: () => {},
    onFailed: () => {},
  })
  /** Resolves once the writer starts its `n`-th write, or fails after `timeoutMillis`. */
  const writeNumber = (n: number, timeoutMillis = 2_000) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`write ${n} never started`)), timeoutMillis)
      const check = () => {
        if (writes.length < n) return
        clearTimeout(timer)
        onWrite = undefined
        resolve()
      }
      onWrite = check
      check()
    })
  const add = (count = 1) => {
    rendered += count
    writer.request()
  }
  return { writes, writeNumber, add }
}

/** Lets every queued microtask run (the writer starts a write in one). */
const microtasks = () => new Promise<void>((resolve) => setImmediate(resolve))

/** The time a simulated write takes on the disk: the pause after a burst is twice as long. */
const diskTime = (millis: number) => new Promise<void>((resolve) => setTimeout(resolve, millis))

describe("the pool writer", () => {
  it("at low load one transaction that arrives during a write goes out at once, with no pause", async () => {
    const { writes, writeNumber, add } = makeTestWriter()
    add()
    await microtasks()
    expect(writes.map((write) => write.count)).toEqual([1])
    // The next transaction of a client that waits to see each in the file, before the write's callback.
    add()
    expect(writes).toHaveLength(1)
    writes[0]?.complete()
    await microtasks()
    expect(writes.map((write) => write.count)).toEqual([1, 2])
    await writeNumber(2)
  })

  it("a burst during a write waits for a pause, then goes out in one write; so does what follows it", async () => {
    const { writes, writeNumber, add } = makeTestWriter()
    add()
    await microtasks()
    add(5)
    await diskTime(20)
    writes[0]?.complete()
    await microtasks()
    // Not at once: after twice the write's time (about 40 ms here), with everything that came.
    expect(writes).toHaveLength(1)
    await writeNumber(2)
    expect(writes.map((write) => write.count)).toEqual([1, 6])
    // After a pause even one more is part of the burst: it waits for the next pause too.
    add()
    await diskTime(20)
    writes[1]?.complete()
    await microtasks()
    expect(writes).toHaveLength(2)
    await writeNumber(3)
    expect(writes.map((write) => write.count)).toEqual([1, 6, 7])
  })
})
