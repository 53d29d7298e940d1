import { Chunk, Effect, Option, type Scope } from "effect"
import type * as Mailbox from "effect/Mailbox"
import type { Frame } from "../services/Transport.js"

/** The most frames handed to a reader at once. */
export const runLength = 64

/**
 * A connection's incoming side over `mailbox`: `offer` (what the socket calls with each frame),
 * `enqueue` (the same, bypassing any handler), `receive` and `intercept` (see Connection).
 *
 * `receive` answers the next run of frames, at most `runLength` of whatever arrived meanwhile, or None
 * once the connection has closed. A failure of the mailbox ends the frames after `onFailure`. Before
 * each run, `yieldIfBusy` may let the event loop run, so a burst does not starve other sockets or file
 * writes. Every frame passes here, so it is a plain pull on the mailbox rather than a stream.
 *
 * An intercepting handler is offered a frame only while the reader waits with nothing buffered and
 * the mailbox is empty: everything that came before has been handled, so order is kept. Once the
 * current turn has lasted a slice (`overSlice`), the rest of a burst goes to the reader, which yields
 * to the event loop between runs, so a burst never holds the loop for long.
 */
export const makeInbox = <E>(
  mailbox: Mailbox.Mailbox<Frame, E>,
  options: {
    readonly yieldIfBusy: Effect.Effect<void>
    /** Whether the current turn of the event loop has lasted a slice: the handler then rests. */
    readonly overSlice?: () => boolean
    readonly onFailure: (error: E) => Effect.Effect<void>
  },
) => {
  let buffered: Chunk.Chunk<Frame> = Chunk.empty()
  let done = false
  // The reader is waiting on the mailbox: it has handled every frame it took.
  let waiting = false
  let handler: ((frame: Frame) => boolean) | undefined

  const takeAll = Effect.catchAll(mailbox.takeAll, (error) =>
    Effect.as(options.onFailure(error), [Chunk.empty<Frame>(), true] as const),
  )
  const receive: Effect.Effect<Option.Option<Chunk.Chunk<Frame>>> = Effect.suspend(() => {
    if (buffered.length > 0) {
      const run = buffered.length <= runLength ? buffered : Chunk.take(buffered, runLength)
      buffered = buffered.length <= runLength ? Chunk.empty() : Chunk.drop(buffered, runLength)
      return Effect.as(options.yieldIfBusy, Option.some(run))
    }
    if (done) return Effect.succeed(Option.none())
    waiting = true
    return Effect.flatMap(takeAll, ([messages, finished]) => {
      waiting = false
      buffered = messages
      done = finished
      return receive
    })
  })

  const isIdle = () => waiting && Option.getOrElse(mailbox.unsafeSize(), () => 1) === 0

  const overSlice = options.overSlice ?? (() => false)
  const offer = (frame: Frame): void => {
    if (handler !== undefined && isIdle() && !overSlice() && handled(handler, frame)) return
    mailbox.unsafeOffer(frame)
  }

  const intercept = (next: (frame: Frame) => boolean): Effect.Effect<void, never, Scope.Scope> =>
    Effect.acquireRelease(
      Effect.sync(() => {
        handler = next
      }),
      () =>
        Effect.sync(() => {
          if (handler === next) handler = undefined
        }),
    )

  /** Queues `frame` for `receive`, whatever the handler. */
  const enqueue = (frame: Frame): void => {
    mailbox.unsafeOffer(frame)
  }

  return { offer, enqueue, receive, intercept }
}

/**
 * Whether `handler` took `frame`. A handler must not throw; if one does anyway (a bug), the frame goes
 * to the reader, whose fiber turns a failure into a closed connection and a log line instead of a
 * crashed process (this runs in a socket's event callback).
 */
const handled = (handler: (frame: Frame) => boolean, frame: Frame): boolean => {
  try {
    return handler(frame)
  } catch {
    return false
  }
}
