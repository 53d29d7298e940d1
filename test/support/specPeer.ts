import { Effect, Mailbox, type Scope, Stream, SubscriptionRef } from "effect"
import { type Address, localAddress } from "../../src/domain/Address.js"
import * as TransportMemory from "../../src/layers/TransportMemory.js"
import { framesOf } from "../../src/services/Transport.js"

/**
 * A peer on the in-memory network that follows the spec and nothing more, like a typical index.js of
 * the freeCodeCamp kit: it dials its known peers and every address in a HANDSHAKE it receives, sends
 * its HANDSHAKE first on every connection it opens, and ignores every other message (our SYNC_ ones
 * included). Its connected addresses are observable.
 */
export const startSpecPeer = (port: number, knownPeers: ReadonlyArray<number> = []) =>
  Effect.gen(function* () {
    const transport = yield* TransportMemory.make("localhost", { spec: true })
    const self = localAddress(port)
    const connected = yield* SubscriptionRef.make<ReadonlyArray<Address>>([])
    const attempting = new Set<Address>()

    const connect = (address: Address): Effect.Effect<void, never, Scope.Scope> =>
      Effect.gen(function* () {
        const current = yield* SubscriptionRef.get(connected)
        if (address === self || current.includes(address) || attempting.has(address)) return
        attempting.add(address)
        yield* Effect.scoped(
          Effect.gen(function* () {
            const socket = yield* transport.dial(address)
            attempting.delete(address)
            yield* SubscriptionRef.update(connected, (list) => [...list, address])
            const data = [self, ...(yield* SubscriptionRef.get(connected))]
            yield* socket.send(JSON.stringify({ type: "HANDSHAKE", data }))
            // A spec node reads nothing on the sockets it opens; it only notices when they close.
            yield* Stream.runDrain(framesOf(socket))
            yield* SubscriptionRef.update(connected, (list) => list.filter((entry) => entry !== address))
          }),
        ).pipe(Effect.catchAll(() => Effect.sync(() => attempting.delete(address))))
      }).pipe(Effect.forkScoped, Effect.asVoid)

    const listener = yield* transport.listen(port)
    yield* Stream.runForEach(Mailbox.toStream(listener.accepted), (socket) =>
      Stream.runForEach(framesOf(socket), (frame) => {
        const message: unknown = typeof frame === "string" ? JSON.parse(frame) : undefined
        if (typeof message !== "object" || message === null || !("type" in message) || !("data" in message)) {
          return Effect.void
        }
        if (message.type !== "HANDSHAKE" || !Array.isArray(message.data)) return Effect.void
        return Effect.forEach(message.data as ReadonlyArray<Address>, connect, { discard: true })
      }).pipe(Effect.forkScoped),
    ).pipe(Effect.forkScoped)
    yield* Effect.forEach(knownPeers.map(localAddress), connect, { discard: true })
    return { address: self, connected }
  })
