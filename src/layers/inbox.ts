import { Chunk, Effect, type Exit, Mailbox, Option } from "effect"
import type { Frame } from "../services/Transport.js"

/** The most frames handed to a reader at once. */
export const runLength = 64

/**
 * How much an inbox holds for its reader before it stops reading the socket (`flow.pause`): a peer
 * that sends faster than the node handles its frames is held back by TCP instead of growing the
 * node's memory. Reading resumes once the reader has taken the inbox below half of both.
 */
const inboxHighWater = { frames: 4096, bytes: 8 * 1024 * 1024 } as const

/**
 * Lets the event loop run (other sockets, the pool file's writes) before the reader goes on. Effect
 * resumes fibers in microtasks, which I/O waits behind; a burst would otherwise hold the loop.
 */
const yieldToEventLoop = Effect.async<void>((resume) => {
  const handle = setImmediate(() => resume(Effect.void))
  return Effect.sync(() => clearImmediate(handle))
})

/** A frame's size as the inbox and the send bound count it (a string's length: its bytes, near enough). */
export const sizeOf = (frame: Frame): number => (typeof frame === "string" ? frame.length : frame.byteLength)

/** A connection's incoming side: what the socket's callbacks call, and what the reader takes. */
export interface Inbox<E> {
  /** A frame arrived (a plain call: it runs in the socket's event callback). */
  readonly offer: (frame: Frame) => void
  /** The connection ended, or failed; later ends are ignored. */
  readonly end: (exit: Exit.Exit<void, E>) => void
  /**
   * The next run of frames (at most `runLength`, in order), waiting for one if none has arrived; None
   * once the connection has ended and every frame is read. A failed end is told to `onFailure` once.
   */
  readonly receive: Effect.Effect<Option.Option<Chunk.Chunk<Frame>>>
}

/**
 * The reader's side of an inbox: the next run of at most `runLength` frames from `mailbox`, waiting for
 * one if none has arrived; None once the mailbox is done and empty. Each run is told to `handedOut`
 * (which releases the socket's reads); a failed end is told to `onFailure`.
 */
const receiveRuns = <E>(
  mailbox: Mailbox.Mailbox<Frame, E>,
  handedOut: (run: Chunk.Chunk<Frame>) => void,
  onFailure: (error: E) => Effect.Effect<void>,
): Effect.Effect<Option.Option<Chunk.Chunk<Frame>>> => {
  // Frames taken from the mailbox but not yet handed out: a run is at most runLength frames.
  let taken: Chunk.Chunk<Frame> = Chunk.empty()
  // Whether the last run was a full one: a burst, after which the event loop gets a turn.
  let inBurst = false
  const nextRun = (): Option.Option<Chunk.Chunk<Frame>> => {
    const run = Chunk.take(taken, runLength)
    taken = Chunk.drop(taken, runLength)
    inBurst = run.length === runLength
    handedOut(run)
    return Option.some(run)
  }
  const takeMore = mailbox.takeAll.pipe(
    Effect.map(([frames, done]) => {
      if (Chunk.isEmpty(frames) && done) return Option.none()
      taken = frames
      return nextRun()
    }),
    Effect.catchAll((error) => Effect.as(onFailure(error), Option.none())),
  )
  const take = () => (Chunk.isNonEmpty(taken) ? Effect.succeed(nextRun()) : takeMore)
  return Effect.suspend(() => (inBurst ? Effect.zipRight(yieldToEventLoop, Effect.suspend(take)) : take()))
}

/**
 * Makes a connection's inbox: a Mailbox that the socket fills and one reader drains. What waits for the
 * reader is bounded (`highWater`): past it `flow.pause` stops the socket's reads, and `flow.resume`
 * restarts them once the reader has caught up. Frames already read from the socket still arrive, so the
 * bound is approximate by one read's worth; none is dropped.
 */
export const makeInbox = <E = never>(options: {
  readonly onFailure: (error: E) => Effect.Effect<void>
  /** Stops and restarts reading the connection (a test's inbox may have none). */
  readonly flow?: { readonly pause: () => void; readonly resume: () => void }
  readonly highWater?: { readonly frames: number; readonly bytes: number }
}): Effect.Effect<Inbox<E>> =>
  Effect.map(Mailbox.make<Frame, E>(), (mailbox) => {
    const highWater = options.highWater ?? inboxHighWater
    // What waits in the mailbox, and whether the socket's reads are stopped for it.
    let heldFrames = 0
    let heldBytes = 0
    let paused = false

    const offer = (frame: Frame): void => {
      if (!mailbox.unsafeOffer(frame)) return
      heldFrames++
      heldBytes += sizeOf(frame)
      if (!paused && options.flow !== undefined && (heldFrames >= highWater.frames || heldBytes >= highWater.bytes)) {
        paused = true
        options.flow.pause()
      }
    }

    const handedOut = (run: Chunk.Chunk<Frame>) => {
      heldFrames -= run.length
      for (const frame of run) heldBytes -= sizeOf(frame)
      if (paused && heldFrames < highWater.frames / 2 && heldBytes < highWater.bytes / 2) {
        paused = false
        options.flow?.resume()
      }
    }

    const receive = receiveRuns(mailbox, handedOut, options.onFailure)

    return {
      offer,
      end: (exit) => {
        mailbox.unsafeDone(exit)
      },
      receive,
    }
  })
