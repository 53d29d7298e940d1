import { Chunk, Effect, Option } from "effect"
import type * as Mailbox from "effect/Mailbox"
import type { Frame } from "../services/Transport.js"

/** The most frames handed to a reader at once. */
export const runLength = 64

/**
 * A connection's `receive`: the next run of frames from `mailbox`, at most `runLength` of whatever
 * arrived meanwhile, or None once the connection has closed. A failure of the mailbox ends the
 * frames after `onFailure`. Before each run, `yieldIfBusy` may let the event loop run, so a burst
 * does not starve other sockets or file writes. Every frame passes here, so it is a plain pull on the
 * mailbox rather than a stream.
 */
export const makeReceive = <E>(
  mailbox: Mailbox.ReadonlyMailbox<Frame, E>,
  options: { readonly yieldIfBusy: Effect.Effect<void>; readonly onFailure: (error: E) => Effect.Effect<void> },
): Effect.Effect<Option.Option<Chunk.Chunk<Frame>>> => {
  let buffered: Chunk.Chunk<Frame> = Chunk.empty()
  let done = false
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
    return Effect.flatMap(takeAll, ([messages, finished]) => {
      buffered = messages
      done = finished
      return receive
    })
  })
  return receive
}
