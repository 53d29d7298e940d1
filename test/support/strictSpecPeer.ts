import { Deferred, Effect, ExecutionStrategy, Exit, Mailbox, Scope, Stream, SubscriptionRef } from "effect"
import { type Address, localAddress } from "../../src/domain/Address.js"
import * as TransportMemory from "../../src/layers/TransportMemory.js"
import { type Connection, type Frame, framesOf } from "../../src/services/Transport.js"

/**
 * What a strict published spec node makes of one frame. Many such index.js files do
 * `JSON.parse(frame).data.forEach(connect)` on every frame: a frame whose `data` is not a list of
 * strings (our SYNC_ and PEERS frames), or that is not JSON, throws and the process exits. Those that
 * also take TRANSACTION read it first. Any field beside `type` and `data` counts as a crash too: the
 * spec's frames have none.
 */
export type SpecVerdict =
  | { readonly _tag: "Crash"; readonly frame: string }
  | { readonly _tag: "Handshake"; readonly addresses: ReadonlyArray<string> }
  | { readonly _tag: "Transaction"; readonly hash: string }
  | { readonly _tag: "Ignore" }

export const readSpecFrame = (frame: Frame, takesTransactions: boolean): SpecVerdict => {
  const text = typeof frame === "string" ? frame : new TextDecoder().decode(frame)
  const crash = { _tag: "Crash", frame: text.slice(0, 200) } as const
  let message: unknown
  try {
    message = JSON.parse(text)
  } catch {
    return crash
  }
  if (typeof message !== "object" || message === null || !("type" in message) || !("data" in message)) return crash
  if (Object.keys(message).length !== 2) return crash
  const { type, data } = message
  if (takesTransactions && type === "TRANSACTION") {
    const hash: unknown = typeof data === "object" && data !== null && "hash" in data ? data.hash : undefined
    return typeof hash === "string" ? { _tag: "Transaction", hash } : crash
  }
  if (!Array.isArray(data) || !data.every((entry) => typeof entry === "string")) return crash
  return type === "HANDSHAKE" ? { _tag: "Handshake", addresses: data } : { _tag: "Ignore" }
}

/**
 * A strict spec node on the in-memory network (see `readSpecFrame`): it dials its known peers and
 * every address a HANDSHAKE lists, sends its HANDSHAKE first on the sockets it opens and reads frames
 * on all of them. On a frame it cannot read it "exits": `crashed` completes with the frame, and its
 * listener and every socket close. With `takesTransactions` it stores a TRANSACTION it has not seen
 * and sends it on to the servers it is connected to, as the spec's bonus asks.
 */
export const startStrictSpecPeer = (
  port: number,
  knownPeers: ReadonlyArray<number>,
  options: { readonly takesTransactions?: boolean } = {},
) =>
  Effect.gen(function* () {
    const outer = yield* Effect.scope
    // The "process": closed when it crashes, or with the test's scope.
    const life = yield* Scope.fork(outer, ExecutionStrategy.sequential)
    const crashed = yield* Deferred.make<string>()
    yield* Effect.forkIn(Effect.zipRight(Deferred.await(crashed), Scope.close(life, Exit.void)), outer)
    const transport = yield* TransportMemory.make("localhost", { spec: true })
    const self = localAddress(port)
    const connected = yield* SubscriptionRef.make<ReadonlyArray<Address>>([])
    const attempting = new Set<Address>()
    const servers = new Set<Connection>()
    const transactions = new Set<string>()

    const onFrame = (from: Connection, frame: Frame): Effect.Effect<void> =>
      Effect.suspend(() => {
        const verdict = readSpecFrame(frame, options.takesTransactions === true)
        switch (verdict._tag) {
          case "Crash":
            return Deferred.succeed(crashed, verdict.frame)
          case "Handshake":
            return Effect.forEach(verdict.addresses as ReadonlyArray<Address>, connect, { discard: true })
          case "Transaction": {
            if (transactions.has(verdict.hash)) return Effect.void
            transactions.add(verdict.hash)
            const to = [...servers].filter((server) => server !== from)
            return Effect.forEach(to, (server) => server.send(frame), { discard: true })
          }
          case "Ignore":
            return Effect.void
        }
      })
    const serve = (connection: Connection) =>
      Stream.runForEach(framesOf(connection), (frame) => onFrame(connection, frame))

    const open = (address: Address) =>
      Effect.gen(function* () {
        const socket = yield* transport.dial(address)
        attempting.delete(address)
        servers.add(socket)
        yield* SubscriptionRef.update(connected, (list) => [...list, address])
        yield* socket.send(
          JSON.stringify({ type: "HANDSHAKE", data: [self, ...(yield* SubscriptionRef.get(connected))] }),
        )
        yield* serve(socket)
        servers.delete(socket)
        yield* SubscriptionRef.update(connected, (list) => list.filter((entry) => entry !== address))
      }).pipe(
        Effect.scoped,
        Effect.catchAll(() => Effect.sync(() => attempting.delete(address))),
      )
    const connect = (address: Address): Effect.Effect<void> =>
      Effect.gen(function* () {
        const current = yield* SubscriptionRef.get(connected)
        if (address === self || current.includes(address) || attempting.has(address)) return
        attempting.add(address)
        yield* Effect.forkIn(open(address), life)
      })

    const listener = yield* Scope.extend(transport.listen(port), life)
    yield* Stream.runForEach(Mailbox.toStream(listener.accepted), (socket) =>
      Effect.forkIn(Effect.ensuring(serve(socket), socket.close), life),
    ).pipe(Effect.forkIn(life))
    yield* Effect.forEach(knownPeers.map(localAddress), connect, { discard: true })
    return {
      address: self,
      connected,
      /** Completes with the first frame it could not read. */
      crashed,
      /** The hashes of the transactions it holds. */
      transactions: Effect.sync(() => [...transactions]),
    }
  })
