import { Clock, Duration, Effect, FiberMap, Queue, Schedule } from "effect"
import type { Address } from "../domain/Address.js"
import type { WaitReason } from "../domain/PeerTable.js"
import type { PeerStoreShape } from "../services/PeerStore.js"

/** How redials are paced (from NodeConfig's healing settings). */
export interface RedialPolicy {
  /** The delay before the first redial; each further failed redial doubles it. */
  readonly baseDelay: Duration.DurationInput
  /** The cap on the delay. A connection that lasted at least this long resets the backoff. */
  readonly maxDelay: Duration.DurationInput
  /** Failed dials in a row after which an address learned from a handshake is given up; never a known peer. */
  readonly learnedAttempts: number
  /** How long an address given up for not answering is left alone, however often peers list it. */
  readonly givenUpRest: Duration.DurationInput
}

/**
 * The delays between redials: exponential from `baseDelay`, capped at `maxDelay`, each one jittered
 * down to between half and all of it ("equal jitter"), so peers that lost each other at the same
 * moment do not redial in lockstep, and no delay exceeds the cap. It outputs each delay.
 */
export const redialSchedule = (policy: RedialPolicy) =>
  Schedule.exponential(policy.baseDelay, 2).pipe(
    // union keeps the shorter of the two delays: the cap.
    Schedule.union(Schedule.spaced(policy.maxDelay)),
    Schedule.jitteredWith({ min: 0.5, max: 1 }),
    Schedule.delays,
  )

/** How one dial of an address ended. */
export type DialOutcome =
  /** The address was already connected or being dialled: nothing to do. */
  | "Busy"
  /** The dial failed. */
  | "Unreachable"
  /** It connected, and the connection has now ended. */
  | "Dropped"
  /**
   * It connected, but its peer had stopped answering pings when the connection ended (it went silent,
   * or never read what we sent): a failure, however long the connection lasted.
   */
  | "Unresponsive"

/** What the table says of an address whose loop waits after each outcome. */
const waitReasons: Record<DialOutcome, WaitReason> = {
  Busy: "dial failed", // never waited after: a busy address ends its loop
  Unreachable: "dial failed",
  Dropped: "connection dropped",
  Unresponsive: "peer stopped answering",
}

/**
 * A redial loop's wake-up call: a sliding queue of one, so calls while nobody waits count once.
 * `unsafeOffer` is the dialler's plain call, `take` waits for a call, `takeAll` forgets one.
 */
type WakeUp = Queue.Queue<void>

/**
 * Keeps dialling addresses until they answer: one loop per address (so never two dials to one address
 * at once), each redialling with `redialSchedule` after a failed dial or a dropped connection. Asking
 * to dial an address whose loop is waiting out a delay dials it at once: someone just told us it is up.
 */
export const makeRedialer = <R>(options: {
  readonly policy: RedialPolicy
  readonly isKnown: (address: Address) => boolean
  /** One dial: connect, serve the connection until it ends, say how it ended. */
  readonly connect: (address: Address) => Effect.Effect<DialOutcome, never, R>
  /** The peer table: told of each wait and of giving up, and asked whether a loop is waiting (PeerStore). */
  readonly table: Pick<PeerStoreShape, "backOff" | "giveUp" | "entry">
}) =>
  Effect.gen(function* () {
    const loops = yield* FiberMap.make<Address>()
    // Loops run in the context of the redialer's creator, not of the frame that asked for a dial.
    const runLoop = yield* FiberMap.runtime(loops)<R>()
    // Each running loop's wake-up call, so that asking for its address again can cut its delay short.
    // Whether a loop waits out a delay is the state of its address in the table (backing off).
    const wakeUps = new Map<Address, WakeUp>()
    const { table } = options
    const stableAfter = Duration.toMillis(options.policy.maxDelay)
    const givenUpRest = Duration.toMillis(options.policy.givenUpRest)

    /**
     * A wait recorded in the table. Dial failures in a row make one info line, at the first, with the
     * next retry; the others are debug lines (the table and /peers keep the count). A peer that stopped
     * answering had its warning line when it was dropped.
     */
    const reportWait = (address: Address, delayMillis: number, failures: number, after: DialOutcome) =>
      Effect.gen(function* () {
        const until = (yield* Clock.currentTimeMillis) + delayMillis
        yield* table.backOff(address, { until, failures, reason: waitReasons[after] })
        yield* Effect.logDebug("redial scheduled").pipe(Effect.annotateLogs({ delayMillis, failures }))
        if (failures !== 1 || after !== "Unreachable") return
        const lastFailure = (yield* table.entry(address))?.lastFailure?.message
        yield* Effect.logInfo("peer unreachable; retrying").pipe(
          Effect.annotateLogs({ failures, retryInMillis: delayMillis, ...(lastFailure ? { error: lastFailure } : {}) }),
        )
      })

    const redialLoop = (address: Address, wakeUp: WakeUp, waitFirst: boolean) =>
      Effect.gen(function* () {
        const known = options.isKnown(address)
        let failures = 0
        let outcome: DialOutcome = "Unreachable"
        // Made at the first wait: most loops dial once and stay connected, and never need one.
        const makeDelays = Effect.suspend(() =>
          Schedule.driver(
            redialSchedule(options.policy).pipe(
              Schedule.tapOutput((delay) =>
                reportWait(address, Math.round(Duration.toMillis(delay)), failures, outcome),
              ),
            ),
          ),
        )
        let delays: Effect.Effect.Success<typeof makeDelays> | undefined
        // Waits one delay, or until someone asks for the address again.
        const pause = Effect.gen(function* () {
          delays ??= yield* makeDelays
          // The schedule is endless, so next never fails.
          yield* Effect.raceFirst(Effect.orDie(delays.next(undefined)), Queue.take(wakeUp))
        })
        if (waitFirst) yield* pause
        for (;;) {
          const started = yield* Clock.currentTimeMillis
          outcome = yield* options.connect(address)
          if (outcome === "Busy") return
          const lasted = (yield* Clock.currentTimeMillis) - started
          if (outcome === "Dropped" && lasted >= stableAfter) {
            // A connection that held is a fresh start; one that keeps dropping at once, or whose peer
            // stopped answering (or never read a frame), is not.
            failures = 0
            delays = undefined // A fresh driver starts from the base delay, as a reset one would.
          } else {
            failures++
          }
          if (!known && failures >= options.policy.learnedAttempts) {
            // One that was down may be back when a peer lists it; one that connected and would not answer
            // is left alone for a rest, however often it is listed.
            const retryFrom = (yield* Clock.currentTimeMillis) + (outcome === "Unresponsive" ? givenUpRest : 0)
            yield* table.giveUp(address, { failures, retryFrom })
            return yield* Effect.logInfo("giving up on learned peer").pipe(Effect.annotateLogs({ failures }))
          }
          // Wake-up calls that came while it was connected are stale (handshakes list connected peers);
          // one that came during a failed dial means someone reached the address since: dial again now.
          if (outcome !== "Unreachable") yield* Queue.takeAll(wakeUp)
          yield* pause
        }
      }).pipe(
        Effect.ensuring(
          Effect.sync(() => {
            if (wakeUps.get(address) === wakeUp) wakeUps.delete(address)
          }),
        ),
        Effect.withSpan("Redial.loop", { attributes: { peer: address }, captureStackTrace: false }),
        Effect.annotateLogs("peer", address),
      )

    /** Whether the loop of `address` is waiting out a delay (asking for it again dials it now). */
    const isBackingOff = (address: Address): Effect.Effect<boolean> =>
      wakeUps.has(address)
        ? Effect.map(table.entry(address), (entry) => entry?.state._tag === "BackingOff")
        : Effect.succeed(false)

    /** Asks the running loop of `address` to dial now; false if none runs. A plain call. */
    const nudge = (address: Address): boolean => {
      const running = wakeUps.get(address)
      running?.unsafeOffer(undefined)
      return running !== undefined
    }

    const start = (address: Address, waitFirst: boolean): Effect.Effect<void> =>
      Effect.suspend(() =>
        nudge(address)
          ? Effect.void
          : Effect.flatMap(Queue.sliding<void>(1), (wakeUp) =>
              // Checked again in the step that starts the loop, so one loop per address.
              Effect.sync(() => {
                if (nudge(address)) return
                wakeUps.set(address, wakeUp)
                // Started once the asking fiber yields, not inside this step: a HANDSHAKE's addresses are
                // all admitted to the dial queue before any of their dials takes a place in it. A loop
                // still in the map has no wake-up any more: it is ending (stood down), and this one
                // replaces it.
                runLoop(address, redialLoop(address, wakeUp, waitFirst), { immediate: false })
              }),
            ),
      )

    return {
      /** Dials `address` until it answers (or, learned, until it is given up); if already at it, now. */
      dial: (address: Address): Effect.Effect<void> => start(address, false),
      /**
       * As `dial`, for a connection to `address` that has just dropped: the first dial waits one delay,
       * as a loop's does after its own connection drops (asking for the address again cuts it short).
       */
      redial: (address: Address): Effect.Effect<void> => start(address, true),
      /**
       * Ends the loop of `address` if it is only waiting out a delay (the peer has just connected to us:
       * pairing.ts). Answers whether no loop is left: false while one dials or serves a connection.
       */
      standDown: (address: Address): Effect.Effect<boolean> =>
        Effect.suspend(() => {
          if (!wakeUps.has(address)) return Effect.succeed(true)
          return Effect.flatMap(isBackingOff(address), (waits) => {
            if (!waits) return Effect.succeed(false)
            wakeUps.delete(address)
            return Effect.as(FiberMap.remove(loops, address), true)
          })
        }),
      /** Whether a loop is dialling `address`, or serving the connection it opened to it. */
      isDialling: (address: Address): boolean => wakeUps.has(address),
    }
  })
