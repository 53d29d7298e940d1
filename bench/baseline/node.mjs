// A minimal spec node written the way the freeCodeCamp starter kit suggests: plain `ws`, one
// process per node, the whole transactions.json rewritten on every new transaction.
// It is the benchmark's baseline: honest and typical, not tuned and not sabotaged.
//
//   node bench/baseline/node.mjs <nodeFolder>
import { readFileSync, writeFileSync } from "node:fs"
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

// The kit's writeTransactions.
function writeTransactions(transactions) {
  writeFileSync(transactionsFile, JSON.stringify(transactions, null, 2))
}

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
