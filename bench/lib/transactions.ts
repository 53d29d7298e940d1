import { createHash } from "node:crypto"
import { WebSocket } from "ws"

export interface BenchTransaction {
  readonly fromAddress: null
  readonly toAddress: string
  readonly amount: number
  readonly timeStamp: number
  readonly hash: string
}

const benchKey = "be".repeat(32)
let lastTimeStamp = 0

/** `count` new transactions of the spec's shape (add-transaction's), each with its own timeStamp. */
export const makeTransactions = (count: number): Array<BenchTransaction> =>
  Array.from({ length: count }, () => {
    lastTimeStamp = Math.max(lastTimeStamp + 1, Date.now())
    const amount = Math.floor(Math.random() * 100) + 1
    const hash = createHash("sha256").update(`null${benchKey}${amount}${lastTimeStamp}`).digest("hex")
    return { fromAddress: null, toAddress: benchKey, amount, timeStamp: lastTimeStamp, hash }
  })

export const transactionFrame = (tx: BenchTransaction): string => JSON.stringify({ type: "TRANSACTION", data: tx })

/** Opens the bench's one client socket to a node (as add-transaction does, but kept open). */
export const openSender = (address: string): Promise<WebSocket> =>
  new Promise((resolve, reject) => {
    const socket = new WebSocket(address)
    socket.once("open", () => {
      socket.off("error", reject)
      socket.on("error", () => {})
      resolve(socket)
    })
    socket.once("error", reject)
  })

/** Sends every frame queued on the socket and resolves once ws has handed them all to the kernel. */
export const drained = (socket: WebSocket): Promise<void> =>
  new Promise((resolve) => {
    const check = () => (socket.bufferedAmount === 0 ? resolve() : setTimeout(check, 5))
    check()
  })
