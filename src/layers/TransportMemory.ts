import { randomUUID } from "node:crypto"
import { Context, Effect, Exit, Layer, Mailbox } from "effect"
import type { Address } from "../domain/Address.js"
import { type Connection, DialError, type Frame, ListenError, Transport } from "../services/Transport.js"

/**
 * An in-process network shared by every TransportMemory node of a test: listeners by `host:port`.
 * Provide one MemoryNetwork to many nodes so they can reach each other.
 */
export class MemoryNetwork extends Context.Tag("meshnode/MemoryNetwork")<
  MemoryNetwork,
  {
    readonly listeners: Map<string, Mailbox.Mailbox<Connection>>
    /** The node id of each listener's transport, as WebSocket nodes exchange theirs in a header. */
    readonly listenerNodeIds: Map<Mailbox.Mailbox<Connection>, string>
  }
>() {}

export const layerNetwork = Layer.sync(MemoryNetwork, () => ({ listeners: new Map(), listenerNodeIds: new Map() }))

const keyOf = (address: string): string => address.replace(/^wss?:\/\//, "")

/**
 * Two connected ends: what one sends, the other receives; closing either closes both. Each end knows
 * the other's node id, when there is one.
 */
export const makeConnectionPair = (
  leftName: string,
  rightName: string,
  nodeIds: { readonly left?: string | undefined; readonly right?: string | undefined } = {},
) =>
  Effect.gen(function* () {
    const toLeft = yield* Mailbox.make<Frame>()
    const toRight = yield* Mailbox.make<Frame>()
    const close = Effect.sync(() => {
      toLeft.unsafeDone(Exit.void)
      toRight.unsafeDone(Exit.void)
    })
    const end = (
      inbox: Mailbox.Mailbox<Frame>,
      outbox: Mailbox.Mailbox<Frame>,
      remote: string,
      peerNodeId: string | undefined,
    ): Connection => ({
      remote,
      frames: Mailbox.toStream(inbox),
      send: (frame) => Effect.sync(() => outbox.unsafeOffer(frame)),
      close,
      ...(peerNodeId === undefined ? {} : { peerNodeId }),
    })
    return [end(toLeft, toRight, rightName, nodeIds.right), end(toRight, toLeft, leftName, nodeIds.left)] as const
  })

export const make = (host = "localhost") =>
  Effect.gen(function* () {
    const network = yield* MemoryNetwork
    const nodeId = randomUUID()
    let nextEphemeralPort = 50_000

    const listen = (port: number) =>
      Effect.gen(function* () {
        const key = `${host}:${port}`
        if (network.listeners.has(key)) {
          return yield* new ListenError({ reason: "AddressInUse", port, message: `port ${port} is already in use` })
        }
        const accepted = yield* Mailbox.make<Connection>()
        yield* Effect.acquireRelease(
          Effect.sync(() => {
            network.listeners.set(key, accepted)
            network.listenerNodeIds.set(accepted, nodeId)
          }),
          () =>
            Effect.sync(() => {
              if (network.listeners.get(key) === accepted) network.listeners.delete(key)
              network.listenerNodeIds.delete(accepted)
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
        const [outbound, inbound] = yield* makeConnectionPair(`${host}:${nextEphemeralPort++}`, address, {
          left: nodeId,
          right: network.listenerNodeIds.get(listener),
        })
        yield* Effect.addFinalizer(() => outbound.close)
        if (!listener.unsafeOffer(inbound)) {
          return yield* new DialError({ address, message: `connect ECONNREFUSED ${keyOf(address)}` })
        }
        return outbound
      })

    return Transport.of({ listen, dial, nodeId })
  })

export const layer = (host = "localhost") => Layer.effect(Transport, make(host))
