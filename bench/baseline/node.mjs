// A minimal spec node written the way the freeCodeCamp starter kit suggests: plain `ws`, one
// process per node, the whole transactions.json rewritten on every new transaction.
// It is the benchmark's baseline: honest and typical, not tuned and not sabotaged.
//
//   node bench/baseline/node.mjs <nodeFolder>             the "baseline" (plain) implementation
//   node bench/baseline/node.mjs <nodeFolder> --durable   the "durable" one: the same node, whose every
//     write is the one our node makes (src/layers/poolFile.ts): a temporary file in the same folder,
//     fsynced, then renamed over transactions.json (no directory fsync: ours does none). Latency is
//     judged against it, so that what the durability costs is not counted against our code.
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { WebSocket, WebSocketServer } from "ws"

const folder = process.argv[2] ?? "."

// The kit loads .env with dotenv; two keys are all it needs.
const env = Object.fromEntries(
  readFileSync(join(folder, ".env"), "utf8")
    .split("\n")
    .map((line) => line.split("="))
    .filter((parts) => parts.length >= 2)
    .map(([key, ...value]) => [key.trim(), value.join("=").trim()]),
)
const PORT = env.PORT
const MY_ADDRESS = `ws://localhost:${PORT}`
const knownPeers = JSON.parse(readFileSync(join(folder, "known-peers.json"), "utf8"))
const transactionsFile = join(folder, "transactions.json")
const transactionPool = JSON.parse(readFileSync(transactionsFile, "utf8"))

const durable = process.argv.includes("--durable")

// The kit's writeTransactions.
function writeTransactionsInPlace(transactions) {
  writeFileSync(transactionsFile, JSON.stringify(transactions, null, 2))
}

// The same bytes, written so that a reader or a crash never sees half a file: one write per
// transaction, as the kit does, each made durable before it replaces the pool.
function writeTransactionsDurably(transactions) {
  const temporary = `${transactionsFile}.tmp-${process.pid}`
  const descriptor = openSync(temporary, "w")
  try {
    writeFileSync(descriptor, JSON.stringify(transactions, null, 2))
    fsyncSync(descriptor)
  } finally {
    closeSync(descriptor)
  }
  renameSync(temporary, transactionsFile)
}

const writeTransactions = durable ? writeTransactionsDurably : writeTransactionsInPlace

const connectedAddresses = []
const attemptingToConnectToAddress = []
const sockets = []

const myServer = new WebSocketServer({ port: PORT })
myServer.on("listening", () => console.log(`listening on ${MY_ADDRESS}`))

myServer.on("connection", (socket) => {
  socket.on("message", (dataString) => {
    let message
    try {
      message = JSON.parse(dataString)
    } catch {
      return
    }
    if (message.type === "HANDSHAKE") {
      for (const address of message.data) connect(address)
    }
    if (message.type === "TRANSACTION") {
      const transaction = message.data
      // The check that stops the infinite loop of messages.
      if (!transactionPool.some((t) => t.hash === transaction.hash)) {
        transactionPool.push(transaction)
        writeTransactions(transactionPool)
        for (const { socket: peer } of sockets) peer.send(JSON.stringify(message))
      }
    }
  })
  socket.on("error", () => {})
})

function connect(address) {
  if (
    address === MY_ADDRESS ||
    connectedAddresses.includes(address) ||
    attemptingToConnectToAddress.includes(address)
  ) {
    return
  }
  attemptingToConnectToAddress.push(address)
  const socket = new WebSocket(address)

  socket.on("open", () => {
    remove(attemptingToConnectToAddress, address)
    connectedAddresses.push(address)
    sockets.push({ address, socket })
    socket.send(JSON.stringify({ type: "HANDSHAKE", data: [MY_ADDRESS, ...connectedAddresses] }))
    console.log(`connected to ${address}`)
  })

  socket.on("close", () => {
    remove(connectedAddresses, address)
    const index = sockets.findIndex((entry) => entry.socket === socket)
    if (index !== -1) sockets.splice(index, 1)
  })

  socket.on("error", () => {
    remove(attemptingToConnectToAddress, address)
  })
}

function remove(array, item) {
  const index = array.indexOf(item)
  if (index !== -1) array.splice(index, 1)
}

for (const address of knownPeers) connect(address)
