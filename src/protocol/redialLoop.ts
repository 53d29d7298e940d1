import { Clock, Duration, Effect, Queue, Schedule } from "effect"
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

/** An outcome a loop waits after (a busy address ends its loop). */
type Failure = Exclude<DialOutcome, "Busy">

/** What the table says of an address whose loop waits after each outcome. */
const waitReasons: Record<Failure, WaitReason> = {
  Unreachable: "dial failed",
  Dropped: "connection dropped",
  Unresponsive: "peer stopped answering",
}

/**
 * The failures in a row after a dial that ended with `outcome` after `lasted` ms. A connection that held
 * (`stableAfter`) is a fresh start, 0; one that keeps dropping at once, or whose peer stopped answering
 * (or never read a frame), is not.
 */
const failuresAfter = (failures: number, outcome: Failure, lasted: number, stableAfter: number): number =>
  outcome === "Dropped" && lasted >= stableAfter ? 0 : failures + 1

/**
 * A redial loop's wake-up call: a sliding queue of one, so calls while nobody waits count once.
 * `unsafeOffer` is the dialler's plain call, `take` waits for a call, `takeAll` forgets one.
 */
export type WakeUp = Queue.Queue<void>

type Table = Pick<PeerStoreShape, "backOff" | "giveUp" | "entry">

/**
 * A wait recorded in the table. Dial failures in a row make one info line, at the first, with the
 * next retry; the others are debug lines (the table and /peers keep the count). A peer that stopped
 * answering had its warning line when it was dropped.
 */
const reportWait = (table: Table, address: Address, delayMillis: number, failures: number, reason: WaitReason) =>
  Effect.gen(function* () {
    const until = (yield* Clock.currentTimeMillis) + delayMillis
    yield* table.backOff(address, { until, failures, reason })
    yield* Effect.logDebug("redial scheduled").pipe(Effect.annotateLogs({ delayMillis, failures }))
    if (failures !== 1 || reason !== "dial failed") return
    const lastFailure = (yield* table.entry(address))?.lastFailure?.message
    yield* Effect.logInfo("peer unreachable; retrying").pipe(
      Effect.annotateLogs({ failures, retryInMillis: delayMillis, ...(lastFailure ? { error: lastFailure } : {}) }),
    )
  })

/**
 * One address's redial loop: dial, serve the connection, and after it ends wait a delay of
 * `redialSchedule` (or until woken) and dial again; until the address is busy elsewhere or, learned,
 * given up. One loop per address (redial.ts) keeps two dials of it from ever running at once.
 */
export const makeRedialLoop =
  <R>(options: {
    readonly policy: RedialPolicy
    readonly isKnown: (address: Address) => boolean
    readonly connect: (address: Address) => Effect.Effect<DialOutcome, never, R>
    readonly table: Table
  }) =>
  (address: Address, wakeUp: WakeUp, firstWait: WaitReason | undefined): Effect.Effect<void, never, R> =>
    Effect.gen(function* () {
      const { policy, table } = options
      const known = options.isKnown(address)
      let failures = 0
      // Why the next wait waits: the first one's reason, then the last dial's outcome.
      let reason: WaitReason = firstWait ?? "dial failed"
      // Made at the first wait: most loops dial once and stay connected, and never need one.
      const makeDelays = Effect.suspend(() =>
        Schedule.driver(
          redialSchedule(policy).pipe(
            Schedule.tapOutput((delay) =>
              reportWait(table, address, Math.round(Duration.toMillis(delay)), failures, reason),
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
      if (firstWait !== undefined) yield* pause
      for (;;) {
        const started = yield* Clock.currentTimeMillis
        const outcome = yield* options.connect(address)
        if (outcome === "Busy") return
        reason = waitReasons[outcome]
        const now = yield* Clock.currentTimeMillis
        failures = failuresAfter(failures, outcome, now - started, Duration.toMillis(policy.maxDelay))
        if (failures === 0) delays = undefined // A fresh driver starts from the base delay, as a reset one would.
        if (!known && failures >= policy.learnedAttempts) {
          // One that was down may be back when a peer lists it; one that connected and would not answer
          // is left alone for a rest, however often it is listed.
          const rest = outcome === "Unresponsive" ? Duration.toMillis(policy.givenUpRest) : 0
          yield* table.giveUp(address, { failures, retryFrom: now + rest })
          return yield* Effect.logInfo("giving up on learned peer").pipe(Effect.annotateLogs({ failures }))
        }
        // Wake-up calls that came while it was connected are stale (handshakes list connected peers);
        // one that came during a failed dial means someone reached the address since: dial again now.
        if (outcome !== "Unreachable") yield* Queue.takeAll(wakeUp)
        yield* pause
      }
    }).pipe(
      Effect.withSpan("Redial.loop", { attributes: { peer: address }, captureStackTrace: false }),
      Effect.annotateLogs("peer", address),
    )
