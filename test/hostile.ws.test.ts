import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { WebSocket } from "ws"
import { type Address, localAddress } from "../src/domain/Address.js"
import { makeTransaction } from "../src/domain/Transaction.js"
import * as NodeConfigFolder from "../src/layers/NodeConfigFolder.js"
import * as PeerStoreRef from "../src/layers/PeerStoreRef.js"
import * as TransactionPoolMemory from "../src/layers/TransactionPoolMemory.js"
import * as TransportWs from "../src/layers/TransportWs.js"
import { startNode } from "../src/protocol/Node.js"
import { TransactionPool } from "../src/services/TransactionPool.js"
import { freePort } from "./support/freePort.js"
import { withLogs } from "./support/logs.js"
import { waitForPoolSize } from "./support/memoryNode.js"

/** A node on the real WebSocket transport, in this process. */
const startWsNode = (port: number, options: Partial<TransportWs.TransportWsOptions>) =>
  Effect.gen(function* () {
    const context = yield* Layer.build(
      Layer.mergeAll(
        PeerStoreRef.layer,
        TransactionPoolMemory.layer(),
        TransportWs.layer({ ...TransportWs.defaultOptions, ...options }),
        NodeConfigFolder.layerStatic({ port }),
      ),
    )
    yield* Effect.provide(startNode, context)
    return { address: localAddress(port), pool: Context.get(context, TransactionPool) }
  })

/** Opens a client socket, sends `frames` and answers the close code the node ends it with (or null). */
const sendFrames = (address: string, frames: ReadonlyArray<string>, waitForClose: boolean) =>
  Effect.async<number | null>((resume) => {
    const socket = new WebSocket(address)
    socket.on("error", () => {})
    socket.once("open", () => {
      for (const frame of frames) socket.send(frame)
      if (!waitForClose) {
        socket.close()
        resume(Effect.succeed(null))
      }
    })
    socket.once("close", (code) => resume(Effect.succeed(code)))
  })

describe("hostile input on the real WebSocket transport", () => {
  it.live("an oversized frame is refused with a line naming the limit, and the node carries on", () =>
    withLogs((logs) =>
      Effect.gen(function* () {
        const port = yield* Effect.promise(freePort)
        const node = yield* startWsNode(port, { maxPayload: 1024 })
        const code = yield* sendFrames(node.address, ["x".repeat(2048)], true)
        expect(code).toBe(1009)
        const line = yield* logs.waitFor((l) => l.message === "frame refused")
        expect(line.annotations).toMatchObject({
          reason: "too large",
          limit: "1024 bytes",
          remote: expect.stringMatching(/:\d+$/),
          node: node.address,
        })
        const tx = makeTransaction({ fromAddress: null, toAddress: "04ab", amount: 5, timeStamp: Date.now() })
        yield* sendFrames(node.address, [JSON.stringify({ type: "TRANSACTION", data: tx })], false)
        yield* waitForPoolSize(node.pool, 1)
      }).pipe(Effect.scoped, Effect.timeout("20 seconds")),
    ),
  )

  it.live("a dial that comes back to the node is recognised by the node-id header and never repeated", () =>
    withLogs((logs) =>
      Effect.gen(function* () {
        const port = yield* Effect.promise(freePort)
        // Listening on every interface, so 127.0.0.2 reaches it: an alias no list of local names holds.
        const node = yield* startWsNode(port, { host: "0.0.0.0" })
        const alias = `ws://127.0.0.2:${port}` as Address
        const handshake = JSON.stringify({ type: "HANDSHAKE", data: [alias] })
        yield* sendFrames(node.address, [handshake], false)
        const line = yield* logs.waitFor((l) => l.message === "dialled itself: address remembered as its own")
        expect(line.annotations.address).toBe(alias)
        // The next handshake naming it does not dial it again.
        yield* sendFrames(node.address, [handshake], false)
        yield* logs.waitFor((l) => l.message === "own address not dialled" && l.annotations.address === alias)
        const dials = (yield* logs.lines).filter((l) => l.message === "dial started" && l.annotations.peer === alias)
        expect(dials.length).toBe(1)
      }).pipe(Effect.scoped, Effect.timeout("20 seconds")),
    ),
  )
})
