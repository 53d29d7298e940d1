import { Effect, type Fiber, FiberMap, Queue, Scope } from "effect"
import type { Address } from "../domain/Address.js"
import type { WaitReason } from "../domain/PeerTable.js"
import type { PeerStoreShape } from "../services/PeerStore.js"
import { type DialOutcome, makeRedialLoop, type RedialPolicy, type WakeUp } from "./redialLoop.js"

/** Asks the running loop of `address` to dial now; false if none runs. A plain call. */
const nudgeIn = (wakeUps: Map<Address, WakeUp>, address: Address): boolean => {
  const running = wakeUps.get(address)
  running?.unsafeOffer(undefined)
  return running !== undefined
}

/** A loop that ended forgets its wake-up call, unless a newer loop of the address has replaced it. */
const forgetIn = (wakeUps: Map<Address, WakeUp>, address: Address, wakeUp: WakeUp) =>
  Effect.sync(() => {
    if (wakeUps.get(address) === wakeUp) wakeUps.delete(address)
  })

/** The fiber that runs this, to be kept in a `FiberMap`. */
const currentFiber = Effect.withFiberRuntime<Fiber.RuntimeFiber<unknown, unknown>>((self) => Effect.succeed(self))

/**
 * At most one loop per address, each with its wake-up call: a `FiberMap` keyed by address, and the
 * running loops' wake-up calls, so that asking for an address again can cut its loop's delay short.
 */
const makeLoops = <R>() =>
  Effect.gen(function* () {
    const fibers = yield* FiberMap.make<Address>()
    // Loops run in the context of the redialer's creator, not of the frame that asked for a dial.
    const run = yield* FiberMap.runtime(fibers)<R>()
    const wakeUps = new Map<Address, WakeUp>()

    const nudge = (address: Address) => nudgeIn(wakeUps, address)
    const forget = (address: Address, wakeUp: WakeUp) => forgetIn(wakeUps, address, wakeUp)

    /** Wakes the loop of `address`, or starts `loop` for it if none runs. */
    const wakeOrStart = (address: Address, loop: (wakeUp: WakeUp) => Effect.Effect<void, never, R>) =>
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
                run(address, Effect.ensuring(loop(wakeUp), forget(address, wakeUp)), { immediate: false })
              }),
            ),
      )

    /**
     * Makes the calling fiber the loop of `address` until `scope` closes: a fiber serving a connection
     * to it that another node opened (pairing.ts). Asking to dial the address meanwhile changes
     * nothing, as for a loop serving its own connection; once the scope has closed, a dial starts a
     * loop again (which replaces this fiber in the map, if it is still ending).
     */
    const hold = (address: Address, scope: Scope.Scope) =>
      Effect.gen(function* () {
        const wakeUp = yield* Queue.sliding<void>(1)
        const fiber = yield* currentFiber
        wakeUps.set(address, wakeUp)
        yield* FiberMap.set(fibers, address, fiber)
        yield* Scope.addFinalizer(scope, forget(address, wakeUp))
      })

    /** Ends the loop of `address` (interrupting it). */
    const stop = (address: Address) =>
      Effect.suspend(() => {
        wakeUps.delete(address)
        return FiberMap.remove(fibers, address)
      })

    return { wakeOrStart, hold, stop, isRunning: (address: Address): boolean => wakeUps.has(address) }
  })

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
    const loops = yield* makeLoops<R>()
    const redialLoop = makeRedialLoop(options)
    // `firstWait`: the loop waits one delay before its first dial, for that reason.
    const start = (address: Address, firstWait?: WaitReason): Effect.Effect<void> =>
      loops.wakeOrStart(address, (wakeUp) => redialLoop(address, wakeUp, firstWait))
    // Whether a loop waits out a delay is the state of its address in the table (backing off).
    const isBackingOff = (address: Address) =>
      Effect.map(options.table.entry(address), (entry) => entry?.state._tag === "BackingOff")

    return {
      /** Dials `address` until it answers (or, learned, until it is given up); if already at it, now. */
      dial: (address: Address): Effect.Effect<void> => start(address),
      /**
       * As `dial`, for a connection to `address` that has just dropped: the first dial waits one delay,
       * as a loop's does after its own connection drops (asking for the address again cuts it short).
       */
      redial: (address: Address): Effect.Effect<void> => start(address, "connection dropped"),
      /**
       * Ends the loop of `address` if it is only waiting out a delay (the peer has just connected to us:
       * pairing.ts). Answers whether no loop is left: false while one dials or serves a connection.
       */
      standDown: (address: Address): Effect.Effect<boolean> =>
        Effect.suspend(() =>
          loops.isRunning(address)
            ? Effect.flatMap(isBackingOff(address), (waits) =>
                waits ? Effect.as(loops.stop(address), true) : Effect.succeed(false),
              )
            : Effect.succeed(true),
        ),
      /**
       * Makes the calling fiber, which serves a connection to `address` that its peer opened (adopted by
       * pairing.ts), the address's loop until `scope` closes: one fiber per address, whoever dialled.
       */
      hold: loops.hold,
      /** Whether a loop is dialling `address`, or serving a connection to it (its own, or one held). */
      isDialling: loops.isRunning,
    }
  })
