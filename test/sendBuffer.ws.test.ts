import { connect, type Socket } from "node:net"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Option } from "effect"
import * as TransportWs from "../src/layers/TransportWs.js"
import type { Connection } from "../src/services/Transport.js"
import { nextTurn } from "./support/eventLoop.js"
import { withLogs } from "./support/logs.js"

/**
 * A WebSocket client that never reads: it sends its upgrade request and stops reading its socket, as
 * a peer whose process is stuck (or that wants our memory) would. What we send it piles up.
 */
const clientThatNeverReads = (port: number) =>
  Effect.acquireRelease(
    Effect.async<Socket>((resume) => {
      const socket = connect(port, "127.0.0.1", () => {
        socket.write(
          [
            "GET / HTTP/1.1",
            `Host: 127.0.0.1:${port}`,
            "Upgrade: websocket",
            "Connection: Upgrade",
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
            "Sec-WebSocket-Version: 13",
            "",
            "",
          ].join("\r\n"),
        )
        socket.pause()
        resume(Effect.succeed(socket))
      })
      socket.on("error", () => {})
    }),
    (socket) => Effect.sync(() => socket.destroy()),
  )

/** Reads `connection` until it ends. */
const readToEnd = (connection: Connection) => connection.receive.pipe(Effect.repeat({ until: Option.isNone }))

describe("what a node holds for a peer", () => {
  it.scoped("a peer that does not read what it is sent is disconnected, with one line naming the limit", () =>
    withLogs((logs) =>
      Effect.gen(function* () {
        const limit = 256 * 1024
        const transport = yield* TransportWs.make({
          ...TransportWs.defaultOptions,
          host: "127.0.0.1",
          maxSendBuffer: limit,
        })
        const listener = yield* transport.listen(0)
        yield* clientThatNeverReads(listener.port)
        const connection = yield* listener.accepted.take
        expect(connection.stoppedReading()).toBe(false)
        const ended = yield* Effect.fork(readToEnd(connection))
        // 64 KiB a turn: far more than the kernel's socket buffers take, yet each turn within the limit.
        const frame = "x".repeat(64 * 1024)
        yield* connection
          .send(frame)
          .pipe(
            Effect.zipRight(nextTurn),
            Effect.repeat({ until: () => ended.unsafePoll() !== null }),
            Effect.timeout("20 seconds"),
          )
        yield* Fiber.join(ended)
        // The redial loop counts it as a peer that stopped answering (connections.ts).
        expect(connection.stoppedReading()).toBe(true)
        const line = yield* logs.waitFor((l) => l.message === "peer disconnected: not reading what we send")
        expect(line.level).toBe("WARN")
        expect(line.annotations).toMatchObject({
          limit: `${limit} bytes (MAX_SEND_BUFFER_BYTES)`,
          waiting: expect.stringMatching(/^\d+ bytes$/),
        })
      }),
    ),
  )
})
