import type { IncomingMessage } from "node:http"
import { WebSocketServer } from "ws"
import { sleep } from "../lib/time.js"
import { transactionFrame } from "../lib/transactions.js"
import type { AttackNode } from "./nodes.js"
import type { Attack } from "./scenario.js"
import { backOff, goesOn, reconnecting, transactionTo } from "./sockets.js"

/** WebSocket listeners on 127.0.0.10-29 that complete the upgrade, then never read a byte. */
const deafListeners = async (port: number): Promise<Array<WebSocketServer>> =>
  Promise.all(
    Array.from(
      { length: 20 },
      (_, i) =>
        new Promise<WebSocketServer>((done) => {
          const server: WebSocketServer = new WebSocketServer({ host: `127.0.0.${10 + i}`, port }, () => done(server))
          server.on("error", () => done(server))
          server.on("connection", (socket, request: IncomingMessage) => {
            socket.on("error", () => {})
            request.socket.pause()
          })
        }),
    ),
  )

/**
 * 1 (memory held per peer): node 1 is told of 20 listeners that never read, so it dials them and
 * relays to them; meanwhile 2,000 valid transactions a second with 512-character addresses (the
 * longest allowed) go into node 2, which relays them to node 1 and so to the deaf listeners. What
 * node 1 sends them piles up until it disconnects them (MAX_SEND_BUFFER_BYTES, or the heartbeat).
 */
export const slowReaders: Attack = {
  name: "slow-readers",
  why: "1 peers that do not read",
  start: async (nodes: ReadonlyArray<AttackNode>, basePort) => {
    const [first, second] = nodes
    if (first === undefined || second === undefined) throw new Error("no nodes")
    const deaf = await deafListeners(basePort + 8)
    let accepted = 0
    for (const server of deaf) server.on("connection", () => accepted++)
    const listing = deaf.map((_, i) => `ws://127.0.0.${10 + i}:${basePort + 8}`)
    const tellFirst = reconnecting(1, {
      address: () => first.address,
      retryMillis: 200,
      session: async (socket, stopped) => {
        socket.send(JSON.stringify({ type: "HANDSHAKE", data: listing }))
        while (goesOn(socket, stopped)) await sleep(500)
      },
    })
    const longAddress = "ab".repeat(256)
    let sent = 0
    const feedSecond = reconnecting(1, {
      address: () => second.address,
      retryMillis: 200,
      session: async (socket, stopped) => {
        while (goesOn(socket, stopped)) {
          for (let i = 0; i < 200; i++) socket.send(transactionFrame(transactionTo(longAddress)))
          sent += 200
          await sleep(100)
          await backOff(socket, 1024 * 1024)
        }
      },
    })
    return {
      stop: async () => {
        await Promise.all([tellFirst(), feedSecond()])
        for (const server of deaf) {
          for (const client of server.clients) client.terminate()
          server.close()
        }
        return `${sent} transactions of 512-character addresses sent; the deaf listeners were dialled ${accepted} times`
      },
    }
  },
}
