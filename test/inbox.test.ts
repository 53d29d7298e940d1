import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Exit, Fiber, Option } from "effect"
import { type Inbox, makeInbox, runLength } from "../src/layers/inbox.js"
import type { Frame } from "../src/services/Transport.js"

/** The frames of the next run `receive` answers; [] once the connection has ended. */
const nextRun = <E>(inbox: Inbox<E>) =>
  Effect.map(inbox.receive, (run) => (Option.isSome(run) ? Chunk.toReadonlyArray(run.value) : []))

/** An inbox bounded at `highWater`, with what it asked of the socket's reads, in order. */
const makeBoundedInbox = (highWater: { readonly frames: number; readonly bytes: number }) => {
  const flow: Array<"pause" | "resume"> = []
  return Effect.map(
    makeInbox({
      onFailure: () => Effect.void,
      flow: { pause: () => flow.push("pause"), resume: () => flow.push("resume") },
      highWater,
    }),
    (inbox) => ({ inbox, flow }),
  )
}

describe("a connection's inbox", () => {
  it.effect("frames come out in order, at most runLength a run", () =>
    Effect.gen(function* () {
      const inbox = yield* makeInbox({ onFailure: () => Effect.void })
      const frames = Array.from({ length: runLength + 3 }, (_, index) => `frame ${index}`)
      for (const frame of frames) inbox.offer(frame)
      const first = yield* nextRun(inbox)
      const second = yield* nextRun(inbox)
      expect(first).toEqual(frames.slice(0, runLength))
      expect(second).toEqual(frames.slice(runLength))
    }),
  )

  it.effect("a waiting reader wakes for a frame, and for the end, after the frames before it", () =>
    Effect.gen(function* () {
      const inbox = yield* makeInbox({ onFailure: () => Effect.void })
      const reader = yield* Effect.fork(nextRun(inbox))
      inbox.offer("hello")
      expect(yield* Fiber.join(reader)).toEqual(["hello"])
      inbox.offer("last")
      inbox.end(Exit.void)
      inbox.offer("after the end")
      expect(yield* nextRun(inbox)).toEqual(["last"])
      expect(yield* inbox.receive).toEqual(Option.none())
    }),
  )

  it.effect("a failed end is told once, after the frames that came before it", () =>
    Effect.gen(function* () {
      const told: Array<string> = []
      const inbox = yield* makeInbox<string>({ onFailure: (error) => Effect.sync(() => told.push(error)) })
      inbox.offer("before")
      inbox.end(Exit.fail("too large"))
      inbox.end(Exit.void)
      expect(yield* nextRun(inbox)).toEqual(["before"])
      expect(yield* inbox.receive).toEqual(Option.none())
      expect(told).toEqual(["too large"])
    }),
  )

  it.effect("past the high water in frames the socket's reads stop, and restart below half", () =>
    Effect.gen(function* () {
      const { inbox, flow } = yield* makeBoundedInbox({ frames: 4, bytes: 1_000_000 })
      for (const frame of ["a", "b", "c"]) inbox.offer(frame)
      expect(flow).toEqual([])
      inbox.offer("d")
      inbox.offer("e")
      expect(flow).toEqual(["pause"])
      expect(yield* nextRun(inbox)).toEqual(["a", "b", "c", "d", "e"])
      expect(flow).toEqual(["pause", "resume"])
    }),
  )

  it.effect("a few large frames reach the high water in bytes", () =>
    Effect.gen(function* () {
      const { inbox, flow } = yield* makeBoundedInbox({ frames: 1_000, bytes: 100 })
      const big: Frame = "x".repeat(60)
      inbox.offer(big)
      expect(flow).toEqual([])
      inbox.offer(big)
      expect(flow).toEqual(["pause"])
      expect(yield* nextRun(inbox)).toEqual([big, big])
      expect(flow).toEqual(["pause", "resume"])
    }),
  )
})
