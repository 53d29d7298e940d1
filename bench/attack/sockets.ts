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

/**
 * Runs `count` workers that each hold one attacker connection at a time: connect to `address(i)` (the
 * worker's i-th try), run `session` on the socket until it returns, close it, and connect again. A
 * refused connection waits `retryMillis` before the next try. Stops like `workers`.
 */
export const reconnecting = (
  count: number,
  options: {
    readonly address: (attempt: number) => string
    readonly retryMillis: number
    readonly onRefused?: () => void
    readonly session: (socket: WebSocket, stopped: () => boolean) => Promise<void>
  },
) =>
  workers(count, async (stopped) => {
    for (let attempt = 0; !stopped(); attempt++) {
      const socket = await connectFrom(options.address(attempt))
      if (typeof socket === "number") {
        options.onRefused?.()
        await sleep(options.retryMillis)
        continue
      }
      await options.session(socket, stopped)
      socket.terminate()
    }
  })

/** Whether a session goes on: the attack runs and the socket is open. */
export const goesOn = (socket: WebSocket, stopped: () => boolean): boolean =>
  !stopped() && socket.readyState === WebSocket.OPEN

let lastTimeStamp = 0

/** A valid transaction (the spec's shape, a matching hash) whose toAddress is `toAddress`. */
export const transactionTo = (toAddress: string): BenchTransaction => {
  lastTimeStamp = Math.max(lastTimeStamp + 1, Date.now())
  const amount = 1 + Math.floor(Math.random() * 100)
  const hash = createHash("sha256").update(`null${toAddress}${amount}${lastTimeStamp}`).digest("hex")
  return { fromAddress: null, toAddress, amount, timeStamp: lastTimeStamp, hash }
}
