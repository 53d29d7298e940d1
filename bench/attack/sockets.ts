import { createHash } from "node:crypto"
import { WebSocket } from "ws"
import { sleep } from "../lib/time.js"
import type { BenchTransaction } from "../lib/transactions.js"

/** The attacker's source address: loopback, but not the honest nodes' 127.0.0.1. */
export const attackerIp = "127.0.0.2"

/** Opens a WebSocket from the attacker's address: the socket once open, or the HTTP status it was refused with. */
export const connectFrom = (address: string, localAddress = attackerIp): Promise<WebSocket | number> =>
  new Promise((done) => {
    const socket = new WebSocket(address, { localAddress, maxPayload: 64 * 1024 * 1024 })
    socket.on("error", () => done(0))
    socket.once("unexpected-response", (_request, response) => {
      done(response.statusCode ?? 0)
      socket.terminate()
    })
    socket.once("open", () => done(socket))
  })

/** Resolves when the socket has closed (at once if it already has). */
export const closed = (socket: WebSocket): Promise<void> =>
  socket.readyState === WebSocket.CLOSED ? Promise.resolve() : new Promise((done) => socket.once("close", () => done()))

/** Waits while more than `bytes` wait in the socket's send buffer: the attacker sends as fast as the node reads. */
export const backOff = async (socket: WebSocket, bytes: number): Promise<void> => {
  while (socket.readyState === WebSocket.OPEN && socket.bufferedAmount > bytes) await sleep(5)
}

/** Runs `count` workers until the returned stop is called; a worker's failure ends only that worker. */
export const workers = (count: number, work: (stopped: () => boolean) => Promise<void>) => {
  let stopped = false
  const done = Promise.all(Array.from({ length: count }, () => work(() => stopped).catch(() => {})))
  return async () => {
    stopped = true
    await done
  }
}

let lastTimeStamp = 0

/** A valid transaction (the spec's shape, a matching hash) whose toAddress is `toAddress`. */
export const transactionTo = (toAddress: string): BenchTransaction => {
  lastTimeStamp = Math.max(lastTimeStamp + 1, Date.now())
  const amount = 1 + Math.floor(Math.random() * 100)
  const hash = createHash("sha256").update(`null${toAddress}${amount}${lastTimeStamp}`).digest("hex")
  return { fromAddress: null, toAddress, amount, timeStamp: lastTimeStamp, hash }
}
