import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, Layer, Scope } from "effect"
import { type Address, localAddress } from "../src/domain/Address.js"
import * as LimitsConfig from "../src/layers/LimitsConfig.js"
import * as NodeConfigFolder from "../src/layers/NodeConfigFolder.js"
import * as PeerStoreRef from "../src/layers/PeerStoreRef.js"
import { makeConnectionSlots } from "../src/protocol/connectionSlots.js"
import { makeDialQueue } from "../src/protocol/dialQueue.js"
import { type Connection, Transport } from "../src/services/Transport.js"

/** A transport whose dials hang until the test lets each through, by address. */
const makeHeldTransport = Effect.gen(function* () {
  const started: Array<Address> = []
  const gates = new Map<Address, Deferred.Deferred<Connection>>()
  const gateOf = (address: Address) =>
    Effect.suspend(() => {
      const known = gates.get(address)
      if (known !== undefined) return Effect.succeed(known)
      return Effect.tap(Deferred.make<Connection>(), (gate) => Effect.sync(() => gates.set(address, gate)))
    })
  const transport = Transport.of({
    listen: () => Effect.die("not used"),
    dial: (address) =>
      Effect.zipRight(
        Effect.sync(() => started.push(address)),
        Effect.flatMap(gateOf(address), Deferred.await),
      ),
    dialTimeoutMillis: 60_000,
  })
  const connection: Connection = {
    remote: "peer",
    receive: Effect.never,
    send: () => Effect.void,
    close: Effect.void,
    unsafePing: () => undefined,
    stoppedReading: () => false,
  }
  const open = (address: Address) => Effect.flatMap(gateOf(address), (gate) => Deferred.succeed(gate, connection))
  return { transport, started, open }
})

const address = (port: number) => localAddress(port)

/** Lets the other fibers run until `ready` holds (they need no clock, only turns). */
const untilReady = (ready: () => boolean) =>
  Effect.gen(function* () {
    for (let turn = 0; turn < 1_000 && !ready(); turn++) yield* Effect.yieldNow()
    expect(ready()).toBe(true)
  })

describe("the dial queue", () => {
  it.scoped(
    "runs a few dials at once; the waiting ones take freed places in order, and an interrupted one gives its place back",
    () =>
      Effect.gen(function* () {
        const held = yield* makeHeldTransport
        const layer = Layer.mergeAll(
          LimitsConfig.layerStatic({ dialConcurrency: 2, dialQueueSize: 2 }),
          NodeConfigFolder.layerStatic({ port: 4001 }),
          PeerStoreRef.layer,
          Layer.succeed(Transport, held.transport),
        )
        const queue = yield* Effect.provide(
          Effect.flatMap(makeConnectionSlots([]), (slots) => makeDialQueue(slots)),
          layer,
        )
        const dialIn = (port: number) =>
          Effect.gen(function* () {
            const scope = yield* Scope.make()
            const fiber = yield* Effect.fork(Scope.extend(queue.dial(address(port)), scope))
            return { fiber, scope }
          })
        const a = yield* dialIn(5001)
        const b = yield* dialIn(5002)
        const c = yield* dialIn(5003)
        const d = yield* dialIn(5004)
        yield* untilReady(() => held.started.length === 2)
        expect(held.started).toEqual([address(5001), address(5002)])
        // The queue is full: two in flight, two waiting.
        const refused = yield* Effect.flip(Scope.extend(queue.dial(address(5005)), yield* Scope.make()))
        expect(refused.message).toBe("dial queue full (limit 2 waiting dials)")
        // A waiting dial interrupted leaves the queue; the next one takes the freed place in its turn.
        yield* Fiber.interrupt(c.fiber)
        yield* held.open(address(5001))
        expect(Exit.isSuccess(yield* Fiber.await(a.fiber))).toBe(true)
        yield* untilReady(() => held.started.length === 3)
        expect(held.started).toEqual([address(5001), address(5002), address(5004)])
        // A dial in flight interrupted gives its place back: a new dial starts at once.
        yield* Fiber.interrupt(b.fiber)
        const e = yield* dialIn(5006)
        yield* untilReady(() => held.started.length === 4)
        expect(held.started).toEqual([address(5001), address(5002), address(5004), address(5006)])
        yield* held.open(address(5004))
        yield* held.open(address(5006))
        expect(Exit.isSuccess(yield* Fiber.await(d.fiber))).toBe(true)
        expect(Exit.isSuccess(yield* Fiber.await(e.fiber))).toBe(true)
      }),
  )
})
