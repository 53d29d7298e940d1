import { Effect } from "effect"
import type { Address } from "../domain/Address.js"
import { Limits } from "../services/Limits.js"
import { DialError, Transport, timedOut } from "../services/Transport.js"
import type { ConnectionSlots } from "./connectionSlots.js"
import { makeSelfAliases } from "./selfAliases.js"
import { makeThrottledWarning } from "./throttledWarning.js"

/**
 * How a node dials: never itself, through a bounded queue with a few dials in flight at once, each
 * with a timeout and a connection slot. A handshake full of unreachable addresses then costs a bounded
 * number of sockets and fibers, and dials past the queue's end are refused at once.
 */
export const makeDialQueue = (slots: ConnectionSlots) =>
  Effect.gen(function* () {
    const limits = yield* Limits
    const transport = yield* Transport
    const self = yield* makeSelfAliases
    const capacity = limits.dialQueueSize + limits.dialConcurrency
    // Dials waiting or in flight, and those in flight. Each change is one synchronous step, so fibers
    // cannot interleave in it.
    let pending = 0
    let inFlight = 0
    // The dials waiting for a place in flight, oldest first: each is handed one as one frees.
    const waiting: Array<() => void> = []
    // A transport that times its dials out itself spares each dial the timeout's race (two fibers).
    const transportTimesOut =
      transport.dialTimeoutMillis !== undefined && transport.dialTimeoutMillis <= limits.dialTimeoutMillis
    const queueFull = yield* makeThrottledWarning("dial queue full: addresses dropped", 1_000)

    const ownNotDialled = (address: Address) =>
      Effect.logDebug("own address not dialled").pipe(Effect.annotateLogs({ address }))

    /** Whether `address` is this node's own address or an alias of it, which it never dials. */
    const isOwn = (address: Address): Effect.Effect<boolean> =>
      Effect.suspend(() => (self.isSelf(address) ? Effect.as(ownNotDialled(address), true) : Effect.succeed(false)))

    /**
     * Whether `address` may be dialled now: not this node's own, and room in the queue. Checked before
     * a dial's fiber is even started, so a flood of handshakes costs little: one step when admitted.
     */
    const admit = (address: Address): Effect.Effect<boolean> =>
      Effect.suspend(() => {
        if (self.isSelf(address)) return Effect.as(ownNotDialled(address), false)
        if (pending >= capacity) {
          return Effect.as(queueFull({ address, limit: `${limits.dialQueueSize} waiting dials` }), false)
        }
        return Effect.succeed(true)
      })

    const attempt = (address: Address) =>
      Effect.gen(function* () {
        if (!(yield* slots.take("outbound"))) {
          return yield* new DialError({ address, message: `too many connections (limit ${limits.maxConnections})` })
        }
        const connection = yield* transportTimesOut
          ? transport.dial(address)
          : transport.dial(address).pipe(
              Effect.timeoutFail({
                duration: limits.dialTimeoutMillis,
                onTimeout: () => new DialError({ address, message: timedOut(limits.dialTimeoutMillis) }),
              }),
            )
        if (transport.nodeId !== undefined && connection.peerNodeId === transport.nodeId) {
          yield* self.remember(address)
          yield* connection.close
          yield* Effect.logWarning("dialled itself: address remembered as its own").pipe(
            Effect.annotateLogs({ address }),
          )
          return yield* new DialError({ address, message: "the address leads back to this node" })
        }
        return connection
      })

    /** A place in flight is free again: the oldest waiting dial takes it, or it stays free. */
    const handOn = () => {
      const next = waiting.shift()
      if (next === undefined) inFlight--
      else next()
    }

    /** Waits until a place in flight is handed to this dial (which then `holds` it). */
    const waitForPlace = (state: { holds: boolean }) =>
      Effect.async<void>((resume) => {
        const take = () => {
          state.holds = true
          resume(Effect.void)
        }
        waiting.push(take)
        return Effect.sync(() => {
          const index = waiting.indexOf(take)
          if (index >= 0) waiting.splice(index, 1)
        })
      })

    /**
     * Dials `address` through the queue (refused if it is full: admit's check came before other dials
     * took the room), at most `dialConcurrency` at once, the others waiting their turn in order. The
     * connection and its slot last as long as the caller's scope. The counts are plain and released by
     * one finalizer, which acts on what this dial took: a free place in flight is taken in the same step
     * as its place in the queue, and waiting (a suspension and a wake-up) happens only when every place
     * is busy.
     */
    const dial = (address: Address) => {
      const state = { entered: false, holds: false }
      return Effect.ensuring(
        Effect.suspend(() => {
          if (pending >= capacity) {
            return new DialError({ address, message: `dial queue full (limit ${limits.dialQueueSize} waiting dials)` })
          }
          pending++
          state.entered = true
          if (inFlight >= limits.dialConcurrency) return Effect.zipRight(waitForPlace(state), attempt(address))
          inFlight++
          state.holds = true
          return attempt(address)
        }),
        Effect.sync(() => {
          if (state.holds) handOn()
          if (state.entered) pending--
        }),
      )
    }

    return { admit, isOwn, dial }
  })
