import { Chunk, Effect, Exit, Option, type Scope } from "effect"
import { acquireReleaseNow } from "../domain/acquireNow.js"
import type { Frame } from "../services/Transport.js"

/** The most frames handed to a reader at once. */
export const runLength = 64

/**
 * How much an inbox holds for its reader before it stops reading the socket (`flow.pause`): a peer
 * that sends faster than the node handles its frames is held back by TCP instead of growing the
 * node's memory. Reading resumes once the reader has taken the inbox below half of both.
 */
export const inboxHighWater = { frames: 4096, bytes: 8 * 1024 * 1024 } as const

/** A frame's size as the inbox counts it (a string's length: its bytes, near enough). */
const sizeOf = (frame: Frame): number => (typeof frame === "string" ? frame.length : frame.byteLength)

/**
 * A connection's incoming side: `offer` (what the socket calls with each frame), `enqueue` (the same,
 * bypassing any handler), `end` (the connection closed, or failed), `receive` and `intercept` (see
 * Connection).
 *
 * `receive` answers the next run of frames, at most `runLength` of whatever arrived meanwhile, or None
 * once the connection has ended and every frame is read. An end with a failure ends the frames after
 * `onFailure`. Before each run, `yieldIfBusy` may let the event loop run, so a burst does not starve
 * other sockets or file writes. Every frame passes here, so it is a plain array and one waiting reader
 * (a Mailbox would cost a fiber to make outside one, and more steps per run).
 *
 * An intercepting handler is offered a frame only while the reader waits with nothing buffered and
 * nothing pending: everything that came before has been handled, so order is kept. Once the current
 * turn has lasted a slice (`overSlice`), the rest of a burst goes to the reader, which yields to the
 * event loop between runs, so a burst never holds the loop for long.
 *
 * What waits for the reader is bounded (`inboxHighWater`): past it, `flow.pause` stops the socket's
 * reads, and `flow.resume` restarts them once the reader has caught up. Frames already read from the
 * socket still arrive, so the bound is approximate by one read's worth; none is dropped.
 */
export const makeInbox = <E>(options: {
  readonly yieldIfBusy: Effect.Effect<void>
  /** Whether the current turn of the event loop has lasted a slice: the handler then rests. */
  readonly overSlice?: () => boolean
  readonly onFailure: (error: E) => Effect.Effect<void>
  /** Stops and restarts reading the connection (a test's inbox has none). */
  readonly flow?: { readonly pause: () => void; readonly resume: () => void }
  readonly highWater?: { readonly frames: number; readonly bytes: number }
}) => {
  const highWater = options.highWater ?? inboxHighWater
  // Frames not yet taken by the reader, oldest first.
  let pending: Array<Frame> = []
  // Frames the reader took but has not been handed yet (a run is at most runLength).
  let buffered: Chunk.Chunk<Frame> = Chunk.empty()
  // How the connection ended, once it has; later ends are ignored.
  let ended: Exit.Exit<void, E> | undefined
  // The reader's wake-up while it waits for frames: it has handled every frame it took.
  let wake: ((effect: Effect.Effect<void>) => void) | undefined
  let handler: ((frame: Frame) => boolean) | undefined
  // What pending and buffered hold, and whether the socket's reads are stopped for it.
  let heldFrames = 0
  let heldBytes = 0
  let paused = false

  const wakeReader = () => {
    const resume = wake
    if (resume === undefined) return
    wake = undefined
    resume(Effect.void)
  }
  // No canceler: a reader interrupted while waiting leaves a stale wake-up, which is harmless (Effect
  // ignores a resume of a fiber that is done) and never taken for an idle reader, because its
  // connection closes with its scope, which ends the inbox and removes the handler. An Effect.async
  // with a canceler costs an interruptible region per wait.
  const waitForFrames = Effect.async<void>((resume) => {
    wake = resume
  })

  const receive: Effect.Effect<Option.Option<Chunk.Chunk<Frame>>> = Effect.suspend(() => {
    if (buffered.length === 0 && pending.length > 0) {
      buffered = Chunk.unsafeFromArray(pending)
      pending = []
    }
    if (buffered.length > 0) {
      const run = buffered.length <= runLength ? buffered : Chunk.take(buffered, runLength)
      buffered = buffered.length <= runLength ? Chunk.empty() : Chunk.drop(buffered, runLength)
      handedOut(run)
      return Effect.as(options.yieldIfBusy, Option.some(run))
    }
    if (ended !== undefined) {
      if (Exit.isSuccess(ended)) return Effect.succeed(Option.none())
      // The failure is told once; the frames stay ended.
      const failure = ended
      ended = Exit.void
      return Effect.as(
        Effect.catchAll(failure, (error) => options.onFailure(error)),
        Option.none(),
      )
    }
    return Effect.zipRight(waitForFrames, receive)
  })

  const isIdle = () => wake !== undefined && pending.length === 0

  const held = (frame: Frame) => {
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
    if (paused && options.flow !== undefined && heldFrames < highWater.frames / 2 && heldBytes < highWater.bytes / 2) {
      paused = false
      options.flow.resume()
    }
  }

  const overSlice = options.overSlice ?? (() => false)

  /** Queues `frame` for `receive`, whatever the handler. */
  const enqueue = (frame: Frame): void => {
    if (ended !== undefined) return
    pending.push(frame)
    held(frame)
    wakeReader()
  }

  const offer = (frame: Frame): void => {
    if (handler !== undefined && ended === undefined && isIdle() && !overSlice() && handled(handler, frame)) return
    enqueue(frame)
  }

  const end = (exit: Exit.Exit<void, E>): void => {
    if (ended !== undefined) return
    ended = exit
    wakeReader()
  }

  const intercept = (next: (frame: Frame) => boolean): Effect.Effect<void, never, Scope.Scope> =>
    acquireReleaseNow(
      () => {
        handler = next
      },
      () =>
        Effect.sync(() => {
          if (handler === next) handler = undefined
        }),
    )

  return { offer, enqueue, end, receive, intercept }
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
