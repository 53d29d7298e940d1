import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Exit, Fiber, Mailbox, Option, Scope } from "effect"
import { makeInbox } from "../src/layers/frameRuns.js"
import type { Frame } from "../src/services/Transport.js"

/** An inbox over a fresh mailbox, with no slicing. */
const makeTestInbox = Effect.map(Mailbox.make<Frame>(), (mailbox) => ({
  mailbox,
  inbox: makeInbox(mailbox, { yieldIfBusy: Effect.void, onFailure: () => Effect.void }),
}))

/** The frames of one run `receive` answers. */
const nextRun = (receive: Effect.Effect<Option.Option<Chunk.Chunk<Frame>>>) =>
  Effect.map(receive, (run) => (Option.isSome(run) ? Chunk.toReadonlyArray(run.value) : []))

describe("a connection's inbox (Connection.intercept and receive)", () => {
  it.scoped("a handler takes frames only while the reader waits with nothing pending, so order is kept", () =>
    Effect.gen(function* () {
      const { mailbox, inbox } = yield* makeTestInbox
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
      mailbox.unsafeDone(Exit.void)
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
})
