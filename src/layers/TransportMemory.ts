import { Context, Effect, Exit, Layer, Mailbox } from "effect"
import type { Address } from "../domain/Address.js"
import { type Connection, DialError, type Frame, ListenError, Transport } from "../services/Transport.js"

/**
 * An in-process network shared by every TransportMemory node of a test: listeners by `host:port`.
 * Provide one MemoryNetwork to many nodes so they can reach each other.
 */
export class MemoryNetwork extends Context.Tag("meshnode/MemoryNetwork")<
  MemoryNetwork,
  { readonly listeners: Map<string, Mailbox.Mailbox<Connection>> }
>() {}

export const layerNetwork = Layer.sync(MemoryNetwork, () => ({ listeners: new Map() }))

const keyOf = (address: string): string => address.replace(/^wss?:\/\//, "")

/** Two connected ends: what one sends, the other receives; closing either closes both. */
export const makeConnectionPair = (leftName: string, rightName: string) =>
  Effect.gen(function* () {
    const toLeft = yield* Mailbox.make<Frame>()
    const toRight = yield* Mailbox.make<Frame>()
    const close = Effect.sync(() => {
      toLeft.unsafeDone(Exit.void)
      toRight.unsafeDone(Exit.void)
    })
    const end = (inbox: Mailbox.Mailbox<Frame>, outbox: Mailbox.Mailbox<Frame>, remote: string): Connection => ({
      remote,
      frames: Mailbox.toStream(inbox),
      send: (frame) => Effect.sync(() => outbox.unsafeOffer(frame)),
      close,
    })
    return [end(toLeft, toRight, rightName), end(toRight, toLeft, leftName)] as const
  })

export const make = (host = "localhost") =>
  Effect.gen(function* () {
    const network = yield* MemoryNetwork
    let nextEphemeralPort = 50_000

    const listen = (port: number) =>
      Effect.gen(function* () {
        const key = `${host}:${port}`
        if (network.listeners.has(key)) {
          return yield* new ListenError({ reason: "AddressInUse", port, message: `port ${port} is already in use` })
        }
        const accepted = yield* Mailbox.make<Connection>()
        yield* Effect.acquireRelease(
          Effect.sync(() => network.listeners.set(key, accepted)),
          () =>
            Effect.sync(() => {
              if (network.listeners.get(key) === accepted) network.listeners.delete(key)
            }).pipe(Effect.andThen(accepted.shutdown)),
        )
        return { port, accepted: Mailbox.toStream(accepted) }
      })

    const dial = (address: Address) =>
      Effect.gen(function* () {
        const listener = network.listeners.get(keyOf(address))
        if (listener === undefined) {
          return yield* new DialError({ address, message: `connect ECONNREFUSED ${keyOf(address)}` })
        }
        const [outbound, inbound] = yield* makeConnectionPair(`${host}:${nextEphemeralPort++}`, address)
        yield* Effect.addFinalizer(() => outbound.close)
        if (!listener.unsafeOffer(inbound)) {
          return yield* new DialError({ address, message: `connect ECONNREFUSED ${keyOf(address)}` })
        }
        return outbound
      })

    return Transport.of({ listen, dial })
  })

export const layer = (host = "localhost") => Layer.effect(Transport, make(host))
