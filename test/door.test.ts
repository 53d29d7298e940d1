import { connect } from "node:net"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { makeTransaction } from "../src/domain/Transaction.js"
import * as TransportMemory from "../src/layers/TransportMemory.js"
import { httpStatus, listenWithDoor, openSocket } from "./support/door.js"
import { startObservedNode } from "./support/observedNode.js"

describe("the node's HTTP side under load", () => {
  it.scoped("GET /tx/:hash answers one transaction, 404 for an unknown one; /status carries hashes, no bodies", () =>
    Effect.gen(function* () {
      const node = yield* startObservedNode(4001)
      const tx = makeTransaction({ fromAddress: null, toAddress: "04ab".repeat(100), amount: 5, timeStamp: 1 })
      yield* node.pool.add(tx)
      yield* node.stats.transactionsAccepted([tx], 1)
      const found = yield* node.get(`/tx/${tx.hash}`)
      expect(found.status).toBe(200)
      expect(JSON.parse(found.body)).toEqual(tx)
      expect((yield* node.get(`/tx/${"0".repeat(64)}`)).status).toBe(404)
      expect((yield* node.get("/tx/nothex")).status).toBe(404)
      const status = yield* node.get("/status")
      expect(JSON.parse(status.body).recent).toEqual([
        { hash: tx.hash, amount: 5, timeStamp: 1, receivedAt: expect.any(Number) },
      ])
      expect(status.body).not.toContain("04ab04ab")
    }).pipe(Effect.provide(Layer.merge(TransportMemory.layerNetwork, NodeContext.layer))),
  )

  it.live("plain HTTP shares one budget per IP: past it the node answers 429", () =>
    Effect.gen(function* () {
      const { port } = yield* listenWithDoor({ httpRequestBurst: 3, httpRequestsPerSecond: 0.01 })
      const codes = yield* Effect.forEach([1, 2, 3, 4, 5], () => httpStatus(port, "/status"))
      expect(codes.slice(0, 3)).toEqual([200, 200, 200])
      expect(codes.slice(3)).toEqual([429, 429])
    }).pipe(Effect.scoped, Effect.timeout("20 seconds")),
  )

  it.live("a client that never finishes its headers is cut off after the headers timeout", () =>
    Effect.gen(function* () {
      const { port } = yield* listenWithDoor({ httpHeadersTimeoutMillis: 300, httpRequestTimeoutMillis: 300 })
      // An upgrade request whose headers never end: the slow-loris way to hold a socket.
      const closed = yield* Effect.async<boolean>((resume) => {
        const socket = connect(port, "127.0.0.1", () => socket.write("GET / HTTP/1.1\r\nUpgrade: websocket\r\n"))
        socket.on("error", () => {})
        // Read what the server says (a 408), or the socket never reports its end.
        socket.resume()
        socket.on("close", () => resume(Effect.succeed(true)))
      }).pipe(Effect.timeout("10 seconds"))
      expect(closed).toBe(true)
      // The server still answers others.
      expect(yield* httpStatus(port, "/")).toBe(200)
    }).pipe(Effect.scoped, Effect.timeout("20 seconds")),
  )

  it.live("without an Admission service every upgrade is admitted", () =>
    Effect.gen(function* () {
      const { port, accepted } = yield* listenWithDoor({})
      expect(yield* openSocket(port)).toBe("open")
      const connection = yield* accepted.take
      expect(connection.remoteIp).toMatch(/127\.0\.0\.1/)
    }).pipe(Effect.scoped, Effect.timeout("20 seconds")),
  )
})
