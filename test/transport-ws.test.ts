import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Exit, Layer, Logger, LogLevel, Scope } from "effect"
import { localAddress } from "../src/domain/Address.js"
import { encodeFrame } from "../src/domain/Message.js"
import { makeTransaction } from "../src/domain/Transaction.js"
import * as NodeConfigFolder from "../src/layers/NodeConfigFolder.js"
import * as PeerStoreRef from "../src/layers/PeerStoreRef.js"
import * as TransactionPoolMemory from "../src/layers/TransactionPoolMemory.js"
import * as TransportWs from "../src/layers/TransportWs.js"
import { startNode } from "../src/protocol/Node.js"
import { PeerStore } from "../src/services/PeerStore.js"
import { TransactionPool } from "../src/services/TransactionPool.js"
import { Transport } from "../src/services/Transport.js"
import { freePort } from "./support/freePort.js"
import { waitForPeers, waitForPoolSize } from "./support/memoryNode.js"

/** A node on the real WebSocket transport, in this process, on the given port. */
const startWsNode = (port: number, knownPeers: ReadonlyArray<number>) =>
  Effect.gen(function* () {
    const context = yield* Layer.build(
      Layer.mergeAll(
        PeerStoreRef.layer,
        TransactionPoolMemory.layer(),
        TransportWs.layer(),
        NodeConfigFolder.layerStatic({ port, knownPeers: knownPeers.map(localAddress) }),
      ),
    )
    yield* Effect.provide(startNode, context)
    return {
      address: localAddress(port),
      peers: Context.get(context, PeerStore),
      pool: Context.get(context, TransactionPool),
      transport: Context.get(context, Transport),
    }
  })

describe("the real WebSocket transport", () => {
  it.live("five nodes in one process form a full mesh on free ports and gossip a transaction", () =>
    Effect.gen(function* () {
      const ports = yield* Effect.forEach([1, 2, 3, 4, 5], () => Effect.promise(freePort))
      const [first = 0, second = 0] = ports
      // Each node knows only the first two: the rest of the mesh comes from handshakes.
      const nodes = yield* Effect.forEach(ports, (port) => startWsNode(port, [first, second]))
      for (const node of nodes) {
        const others = nodes.filter((other) => other !== node).map((other) => other.address)
        yield* waitForPeers(node.peers, (s) => others.every((address) => s.connected.includes(address))).pipe(
          Effect.timeout("10 seconds"),
        )
      }
      const [entry] = nodes
      if (entry === undefined) return
      const tx = makeTransaction({ fromAddress: null, toAddress: "04ab", amount: 3, timeStamp: Date.now() })
      yield* Effect.scoped(
        Effect.gen(function* () {
          const connection = yield* entry.transport.dial(entry.address)
          yield* connection.send(encodeFrame({ type: "TRANSACTION", data: tx }))
        }),
      )
      for (const node of nodes) {
        yield* waitForPoolSize(node.pool, 1).pipe(Effect.timeout("10 seconds"))
        expect(yield* node.pool.list).toEqual([tx])
      }
    }).pipe(Effect.scoped, Logger.withMinimumLogLevel(LogLevel.Warning)),
  )

  it.live("a node that stops leaves its peers' connected sets", () =>
    Effect.gen(function* () {
      const [a = 0, b = 0] = yield* Effect.forEach([1, 2], () => Effect.promise(freePort))
      const nodeA = yield* startWsNode(a, [])
      const scopeB = yield* Scope.make()
      yield* startWsNode(b, [a]).pipe(Scope.extend(scopeB))
      yield* waitForPeers(nodeA.peers, (s) => s.connected.includes(localAddress(b))).pipe(Effect.timeout("10 seconds"))
      yield* Scope.close(scopeB, Exit.void)
      const after = yield* waitForPeers(nodeA.peers, (s) => s.connected.length === 0).pipe(Effect.timeout("10 seconds"))
      expect(after.dialling).toEqual([])
    }).pipe(Effect.scoped, Logger.withMinimumLogLevel(LogLevel.Warning)),
  )

  it.live("a connection whose frames wait unread is busy, not silent: its ping is answered", () =>
    Effect.gen(function* () {
      // What the dialler sends waits in its send buffer while the accepted end does not read: a bound
      // far above the 20 MB sent, so this test is about the inbox alone.
      const transport = yield* TransportWs.make({ ...TransportWs.defaultOptions, maxSendBuffer: 64 * 1024 * 1024 })
      const listener = yield* transport.listen(0)
      const dialled = yield* transport.dial(localAddress(listener.port))
      const accepted = yield* listener.accepted.take
      // Nobody reads the accepted end: past the inbox's high water its socket's reads stop, and the
      // dialler's pong would wait behind the frames.
      const frame = "x".repeat(4096)
      yield* Effect.forEach(Array.from({ length: 5_000 }), () => dialled.send(frame), { discard: true })
      const answered = yield* Effect.async<boolean>((resume) => {
        accepted.unsafePing(() => resume(Effect.succeed(true)))
      }).pipe(Effect.timeoutTo({ duration: "5 seconds", onTimeout: () => false, onSuccess: (pong) => pong }))
      expect(answered).toBe(true)
    }).pipe(Effect.scoped, Logger.withMinimumLogLevel(LogLevel.Warning)),
  )
})
