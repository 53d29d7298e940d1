import { Effect, Option } from "effect"
import type { Address } from "../domain/Address.js"
import { Limits } from "../services/Limits.js"
import { DialError, Transport } from "../services/Transport.js"
import type { ConnectionSlots } from "./connectionSlots.js"
import { makeSelfAliases } from "./selfAliases.js"

/**
 * How a node dials: never itself, through a bounded queue with a few dials in flight at once, each
 * with a timeout and a connection slot. A handshake full of unreachable addresses then costs a bounded
 * number of sockets and fibers, and the dials past the queue's end are refused at once.
 */
export const makeDialQueue = (slots: ConnectionSlots) =>
  Effect.gen(function* () {
    const limits = yield* Limits
    const transport = yield* Transport
    const self = yield* makeSelfAliases
    const inFlight = yield* Effect.makeSemaphore(limits.dialConcurrency)
    // Admits dials that are waiting or in flight; when none is free the queue is full.
    const queued = yield* Effect.makeSemaphore(limits.dialQueueSize + limits.dialConcurrency)

    /** Whether `address` may be dialled at all: false for this node's own address and its aliases. */
    const admit = (address: Address) =>
      Effect.flatMap(self.isSelf(address), (isSelf) =>
        isSelf
          ? Effect.as(Effect.logDebug("own address not dialled").pipe(Effect.annotateLogs({ address })), false)
          : Effect.succeed(true),
      )

    const attempt = (address: Address) =>
      Effect.gen(function* () {
        if (!(yield* slots.take("outbound"))) {
          return yield* new DialError({ address, message: `too many connections (limit ${limits.maxConnections})` })
        }
        const connection = yield* transport.dial(address).pipe(
          Effect.timeoutFail({
            duration: limits.dialTimeoutMillis,
            onTimeout: () => new DialError({ address, message: `dial timed out after ${limits.dialTimeoutMillis} ms` }),
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

    /** Dials `address` through the queue; the connection and its slot last as long as the scope. */
    const dial = (address: Address) =>
      queued
        .withPermitsIfAvailable(1)(inFlight.withPermits(1)(attempt(address)))
        .pipe(
          Effect.flatMap(
            Option.match({
              onNone: () =>
                new DialError({ address, message: `dial queue full (limit ${limits.dialQueueSize} waiting dials)` }),
              onSome: Effect.succeed,
            }),
          ),
        )

    return { admit, dial }
  })
