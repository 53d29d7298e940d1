import { Effect } from "effect"
import type { Address } from "../domain/Address.js"
import { Limits, type LimitsShape } from "../services/Limits.js"
import { DialError, Transport, type TransportShape, timedOut } from "../services/Transport.js"
import type { ConnectionSlots } from "./connectionSlots.js"
import { makeSelfAliases } from "./selfAliases.js"
import { makeThrottledWarning } from "./throttledWarning.js"

type SelfAliases = Effect.Effect.Success<typeof makeSelfAliases>

const ownNotDialled = (address: Address) =>
  Effect.logDebug("own address not dialled").pipe(Effect.annotateLogs({ address }))

/**
 * One dial of `address`, queue aside: a connection slot, the transport's dial within the dial timeout,
 * and a check that it did not lead back to this node (then the address is remembered as our own).
 */
const makeDialAttempt = (slots: ConnectionSlots, limits: LimitsShape, transport: TransportShape, self: SelfAliases) => {
  // A transport that times its dials out itself spares each dial the timeout's race (two fibers).
  const transportTimesOut =
    transport.dialTimeoutMillis !== undefined && transport.dialTimeoutMillis <= limits.dialTimeoutMillis
  const timedDial = (address: Address) =>
    transportTimesOut
      ? transport.dial(address)
      : transport.dial(address).pipe(
          Effect.timeoutFail({
            duration: limits.dialTimeoutMillis,
            onTimeout: () => new DialError({ address, message: timedOut(limits.dialTimeoutMillis) }),
          }),
        )

  return (address: Address) =>
    Effect.gen(function* () {
      if (!(yield* slots.outbound(address))) {
        return yield* new DialError({ address, message: `too many connections (limit ${limits.maxConnections})` })
      }
      const connection = yield* timedDial(address)
      if (transport.nodeId !== undefined && connection.peerNodeId === transport.nodeId) {
        yield* self.remember(address)
        yield* connection.close
        yield* Effect.logWarning("dialled itself: address remembered as its own").pipe(Effect.annotateLogs({ address }))
        return yield* new DialError({ address, message: "the address leads back to this node" })
      }
      return connection
    })
}

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
    // Dials waiting or in flight: read by `admit` in the step that asks, so a flood costs little.
    let pending = 0
    const inFlight = yield* Effect.makeSemaphore(limits.dialConcurrency)
    const queueFull = yield* makeThrottledWarning("dial queue full: addresses dropped", 1_000)
    const attempt = makeDialAttempt(slots, limits, transport, self)

    /** Whether `address` is this node's own address or an alias of it, which it never dials. */
    const isOwn = (address: Address): Effect.Effect<boolean> =>
      Effect.tap(self.isSelf(address), (own) => (own ? ownNotDialled(address) : Effect.void))

    /**
     * Whether `address` may be dialled now: not this node's own, and room in the queue. Checked before
     * a dial's fiber is even started, so a flood of handshakes costs little.
     */
    const admit = (address: Address): Effect.Effect<boolean> =>
      Effect.flatMap(isOwn(address), (own) => {
        if (own) return Effect.succeed(false)
        if (pending >= capacity) {
          return Effect.as(queueFull({ address, limit: `${limits.dialQueueSize} waiting dials` }), false)
        }
        return Effect.succeed(true)
      })

    /**
     * Dials `address` through the queue (refused if it is full: admit's check came before other dials
     * took the room), at most `dialConcurrency` at once (a Semaphore), the others waiting their turn in
     * order. The connection and its slot last as long as the caller's scope; the places in the queue
     * and in flight end with the attempt.
     */
    const dial = (address: Address) =>
      Effect.suspend(() => {
        if (pending >= capacity) {
          return new DialError({ address, message: `dial queue full (limit ${limits.dialQueueSize} waiting dials)` })
        }
        pending++
        return inFlight
          .withPermits(1)(attempt(address))
          .pipe(
            Effect.ensuring(
              Effect.sync(() => {
                pending--
              }),
            ),
          )
      })

    return { admit, isOwn, dial }
  })
