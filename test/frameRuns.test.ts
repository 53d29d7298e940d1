import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Exit, Fiber, Option, Scope } from "effect"
import { makeInbox, runLength } from "../src/layers/frameRuns.js"
import type { Frame } from "../src/services/Transport.js"

/** A fresh inbox, with no slicing. */
const makeTestInbox = Effect.sync(() => ({
  inbox: makeInbox<never>({ yieldIfBusy: Effect.void, onFailure: () => Effect.void }),
}))

/** An inbox bounded at `highWater`, with what it asked of the socket's reads, in order. */
const makeBoundedInbox = (highWater: { readonly frames: number; readonly bytes: number }) => {
  const flow: Array<"pause" | "resume"> = []
  const inbox = makeInbox<never>({
    yieldIfBusy: Effect.void,
    onFailure: () => Effect.void,
    flow: { pause: () => flow.push("pause"), resume: () => flow.push("resume") },
    highWater,
  })
  return { inbox, flow }
}

/** The frames of one run `receive` answers. */
const nextRun = (receive: Effect.Effect<Option.Option<Chunk.Chunk<Frame>>>) =>
  Effect.map(receive, (run) => (Option.isSome(run) ? Chunk.toReadonlyArray(run.value) : []))

describe("a connection's inbox (Connection.intercept and receive)", () => {
  it.scoped("a handler takes frames only while the reader waits with nothing pending, so order is kept", () =>
    Effect.gen(function* () {
      const { inbox } = yield* makeTestInbox
      const taken: Array<Frame> = []
      yield* inbox.intercept((frame) => {
        if (frame === "declined") return false
        taken.push(frame)
        return true
      })
      // No reader yet: nothing may jump ahead of frames it has not read.
      inbox.offer("before the reader")
      expect(taken).toEqual([])
      expect(yield* nextRun(inbox.receive)).toEqual(["before the reader"])

      // The reader has handled its run and waits again: the handler takes frames as they come.
      const reader = yield* Effect.fork(nextRun(inbox.receive))
      yield* Effect.yieldNow()
      inbox.offer("a")
      inbox.offer("b")
      expect(taken).toEqual(["a", "b"])
      // A declined frame goes to the reader, and every frame after it too, until the reader has them.
      inbox.offer("declined")
      inbox.offer("c")
      expect(taken).toEqual(["a", "b"])
      expect(yield* Fiber.join(reader)).toEqual(["declined", "c"])
      const readerAgain = yield* Effect.fork(nextRun(inbox.receive))
      yield* Effect.yieldNow()
      inbox.offer("d")
      expect(taken).toEqual(["a", "b", "d"])
      inbox.end(Exit.void)
      expect(yield* Fiber.join(readerAgain)).toEqual([])
    }),
  )

  it.effect("the handler is gone once its scope closes; enqueue always goes to the reader", () =>
    Effect.gen(function* () {
      const { inbox } = yield* makeTestInbox
      const taken: Array<Frame> = []
      const scope = yield* Scope.make()
      yield* Scope.extend(
        inbox.intercept((frame) => taken.push(frame) > 0),
        scope,
      )
      const reader = yield* Effect.fork(nextRun(inbox.receive))
      yield* Effect.yieldNow()
      inbox.enqueue("queued")
      expect(yield* Fiber.join(reader)).toEqual(["queued"])
      yield* Scope.close(scope, Exit.void)
      const nextReader = yield* Effect.fork(nextRun(inbox.receive))
      yield* Effect.yieldNow()
      inbox.offer("after")
      expect(taken).toEqual([])
      expect(yield* Fiber.join(nextReader)).toEqual(["after"])
    }),
  )

  it.scoped("a handler that throws loses no frame: it goes to the reader", () =>
    Effect.gen(function* () {
      const { inbox } = yield* makeTestInbox
      yield* inbox.intercept(() => {
        throw new Error("a bug")
      })
      const reader = yield* Effect.fork(nextRun(inbox.receive))
      yield* Effect.yieldNow()
      inbox.offer("still delivered")
      expect(yield* Fiber.join(reader)).toEqual(["still delivered"])
    }),
  )

  it.effect("an end wakes the waiting reader; frames before a failure are read first, the failure told once", () =>
    Effect.gen(function* () {
      const failures: Array<string> = []
      const inbox = makeInbox<string>({
        yieldIfBusy: Effect.void,
        onFailure: (error) => Effect.sync(() => failures.push(error)),
      })
      const reader = yield* Effect.fork(inbox.receive)
      yield* Effect.yieldNow()
      inbox.end(Exit.void)
      expect(Option.isNone(yield* Fiber.join(reader))).toBe(true)

      const failing = makeInbox<string>({
        yieldIfBusy: Effect.void,
        onFailure: (error) => Effect.sync(() => failures.push(error)),
      })
      failing.offer("a")
      failing.end(Exit.fail("too large"))
      failing.offer("after the end")
      failing.end(Exit.void)
      expect(yield* nextRun(failing.receive)).toEqual(["a"])
      expect(Option.isNone(yield* failing.receive)).toBe(true)
      expect(Option.isNone(yield* failing.receive)).toBe(true)
      expect(failures).toEqual(["too large"])
    }),
  )

  it.effect("a run holds at most runLength frames; the rest come in the next runs, in order", () =>
    Effect.gen(function* () {
      const { inbox } = yield* makeTestInbox
      const frames = Array.from({ length: runLength * 2 + 3 }, (_, i) => `f${i}`)
      for (const frame of frames) inbox.offer(frame)
      const first = yield* nextRun(inbox.receive)
      const second = yield* nextRun(inbox.receive)
      const third = yield* nextRun(inbox.receive)
      expect([first.length, second.length, third.length]).toEqual([runLength, runLength, 3])
      expect([...first, ...second, ...third]).toEqual(frames)
    }),
  )

  it.effect(
    "past its high water the inbox stops the socket's reads, and restarts them once the reader has caught up",
    () =>
      Effect.gen(function* () {
        const { inbox, flow } = makeBoundedInbox({ frames: runLength + 10, bytes: 1_000_000 })
        const frames = Array.from({ length: runLength + 40 }, (_, i) => `f${i}`)
        for (const frame of frames.slice(0, runLength + 9)) inbox.offer(frame)
        expect(flow).toEqual([])
        // The frame that reaches the high water stops the reads; frames read before the stop still come in.
        for (const frame of frames.slice(runLength + 9)) inbox.offer(frame)
        expect(flow).toEqual(["pause"])
        // One run leaves 40 frames: not yet below half the high water.
        const first = yield* nextRun(inbox.receive)
        expect(flow).toEqual(["pause"])
        const second = yield* nextRun(inbox.receive)
        expect(flow).toEqual(["pause", "resume"])
        // Nothing was dropped or reordered.
        expect([...first, ...second]).toEqual(frames)
      }),
  )

  it.effect("a few large frames reach the high water in bytes", () =>
    Effect.gen(function* () {
      const { inbox, flow } = makeBoundedInbox({ frames: 1000, bytes: 1000 })
      inbox.offer("x".repeat(600))
      expect(flow).toEqual([])
      inbox.offer(new Uint8Array(400))
      expect(flow).toEqual(["pause"])
      expect((yield* nextRun(inbox.receive)).length).toBe(2)
      expect(flow).toEqual(["pause", "resume"])
    }),
  )
})
