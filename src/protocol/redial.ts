import { Clock, Duration, Effect, FiberMap, Schedule } from "effect"
import type { Address } from "../domain/Address.js"
import { withLogAnnotation } from "../domain/isLogged.js"
import { traced } from "./spans.js"

/** How redials are paced (from NodeConfig's healing settings). */
export interface RedialPolicy {
  /** The delay before the first redial; each further failed redial doubles it. */
  readonly baseDelay: Duration.DurationInput
  /** The cap on the delay. A connection that lasted at least this long resets the backoff. */
  readonly maxDelay: Duration.DurationInput
  /** Failed dials in a row after which an address learned from a handshake is given up; never a known peer. */
  readonly learnedAttempts: number
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
 * A redial loop's wake-up call, like a sliding queue of one: `call` is a plain call (the dialler's),
 * `take` waits for a call (one that came already counts) and takes it, `clear` forgets one.
 */
const makeWakeUp = () => {
  let called = false
  let waiting: ((effect: Effect.Effect<void>) => void) | undefined
  return {
    call: (): void => {
      const resume = waiting
      if (resume === undefined) {
        called = true
        return
      }
      waiting = undefined
      resume(Effect.void)
    },
    clear: Effect.sync(() => {
      called = false
    }),
    take: Effect.async<void>((resume) => {
      if (called) {
        called = false
        resume(Effect.void)
        return
      }
      waiting = resume
      return Effect.sync(() => {
        if (waiting === resume) waiting = undefined
      })
    }),
  }
}

type WakeUp = ReturnType<typeof makeWakeUp>

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
}) =>
  Effect.gen(function* () {
    const loops = yield* FiberMap.make<Address>()
    // Loops run in the context of the redialer's creator, not of the frame that asked for a dial.
    const runLoop = yield* FiberMap.runtime(loops)<R>()
    // Each running loop's wake-up call, so that asking for its address again can cut its delay short.
    const wakeUps = new Map<Address, WakeUp>()
    // The loops waiting out a delay (not dialling, not serving a connection).
    const waiting = new Set<Address>()
    const stableAfter = Duration.toMillis(options.policy.maxDelay)

    const redialLoop = (address: Address, wakeUp: WakeUp, waitFirst: boolean) =>
      Effect.gen(function* () {
        const known = options.isKnown(address)
        let failures = 0
        // Made at the first wait: most loops dial once and stay connected, and never need one.
        const makeDelays = Effect.suspend(() =>
          Schedule.driver(
            redialSchedule(options.policy).pipe(
              Schedule.tapOutput((delay) =>
                Effect.logDebug("redial scheduled").pipe(
                  Effect.annotateLogs({ delayMillis: Math.round(Duration.toMillis(delay)), failures }),
                ),
              ),
            ),
          ),
        )
        let delays: Effect.Effect.Success<typeof makeDelays> | undefined
        // Waits one delay, or until someone asks for the address again.
        const pause = Effect.gen(function* () {
          delays ??= yield* makeDelays
          waiting.add(address)
          // The schedule is endless, so next never fails.
          yield* Effect.raceFirst(Effect.orDie(delays.next(undefined)), wakeUp.take)
          waiting.delete(address)
        })
        if (waitFirst) yield* pause
        for (;;) {
          const started = yield* Clock.currentTimeMillis
          const outcome = yield* options.connect(address)
          if (outcome === "Busy") return
          const lasted = (yield* Clock.currentTimeMillis) - started
          if (outcome === "Dropped" && lasted >= stableAfter) {
            // A connection that held is a fresh start; one that keeps dropping at once is not.
            failures = 0
            delays = undefined // A fresh driver starts from the base delay, as a reset one would.
          } else {
            failures++
          }
          if (!known && failures >= options.policy.learnedAttempts) {
            return yield* Effect.logInfo("giving up on learned peer").pipe(Effect.annotateLogs({ failures }))
          }
          // Wake-up calls that came while it was connected are stale (handshakes list connected peers);
          // one that came during a failed dial means someone reached the address since: dial again now.
          if (outcome === "Dropped") yield* wakeUp.clear
          yield* pause
        }
      }).pipe(
        Effect.ensuring(
          Effect.sync(() => {
            if (wakeUps.get(address) !== wakeUp) return
            wakeUps.delete(address)
            waiting.delete(address)
          }),
        ),
        traced("Redial.loop", { attributes: { peer: address } }),
        withLogAnnotation("peer", address),
      )

    const start = (address: Address, waitFirst: boolean): Effect.Effect<void> =>
      // One synchronous step, so one loop per address.
      Effect.sync(() => {
        const running = wakeUps.get(address)
        if (running !== undefined) return running.call()
        const wakeUp = makeWakeUp()
        wakeUps.set(address, wakeUp)
        // Started once the asking fiber yields, not inside this step: a HANDSHAKE's addresses are all
        // admitted to the dial queue before any of their dials takes a place in it. A loop still in the
        // map has no wake-up any more: it is ending (stood down), and this one replaces it.
        runLoop(address, redialLoop(address, wakeUp, waitFirst), { immediate: false })
      })

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
          if (!waiting.has(address)) return Effect.succeed(false)
          wakeUps.delete(address)
          waiting.delete(address)
          return Effect.as(FiberMap.remove(loops, address), true)
        }),
      /** Whether a loop is dialling `address`, or serving the connection it opened to it. */
      isDialling: (address: Address): boolean => wakeUps.has(address),
    }
  })
