import { spawn } from "node:child_process"
import { rm } from "node:fs/promises"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { makeTransaction, type Transaction } from "../src/domain/Transaction.js"
import { type Host, makeHosts, namespacesUnavailable, onHost } from "./support/netns.js"
import {
  eventually,
  makeNodesDir,
  messageText,
  type NodeProcess,
  readPool,
  repoRoot,
  startNodeProcess,
  waitListening,
  writeNodeFolder,
} from "./support/processes.js"

/**
 * Three nodes on three "hosts": network namespaces joined by a bridge, each with its own IP
 * (support/netns.ts). Each node listens on 0.0.0.0 and advertises ws://<its IP>:7501; the known
 * peers are the first and third hosts, as in the spec. Needs root and iproute2 (CI has both);
 * elsewhere it is skipped with the reason.
 */

const PORT = 7501
const unavailable = await namespacesUnavailable()
if (unavailable !== undefined) console.log(`multihost: skipped: ${unavailable}`)

const addressOf = (host: Host) => `ws://${host.ip}:${PORT}`

/** The connected set a node last logged (LOG_LEVEL=debug logs it after every change). */
const connectedNow = (node: NodeProcess): ReadonlyArray<string> => {
  const line = node.lines.findLast((entry) => messageText(entry) === "connected peers")
  const connected = line?.annotations.connected
  return Array.isArray(connected) ? connected.map(String) : []
}

/** Sends transactions to `address` from inside `host`'s namespace, as add-transaction would. */
const sendFrom = (host: Host, address: string, transactions: ReadonlyArray<Transaction>) =>
  new Promise<void>((resolve, reject) => {
    const script = `
      const { WebSocket } = require("ws")
      const socket = new WebSocket(process.argv[2])
      socket.on("open", () => {
        for (const tx of JSON.parse(process.argv[1])) socket.send(JSON.stringify({ type: "TRANSACTION", data: tx }))
        socket.close()
      })
      socket.on("close", () => process.exit(0))
      socket.on("error", (error) => { console.error(error.message); process.exit(1) })`
    const [command = "ip", ...args] = [
      ...onHost(host),
      process.execPath,
      "-e",
      script,
      JSON.stringify(transactions),
      address,
    ]
    const child = spawn(command, args, { cwd: repoRoot, stdio: ["ignore", "ignore", "pipe"] })
    let errors = ""
    child.stderr?.on("data", (chunk) => {
      errors += String(chunk)
    })
    child.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`sender exited ${code}: ${errors}`))))
  })

let counter = 0
const newTransactions = (count: number) =>
  Array.from({ length: count }, () =>
    makeTransaction({
      fromAddress: null,
      toAddress: "04ab",
      amount: 1 + (counter % 100),
      timeStamp: Date.now() + counter++,
    }),
  )

const hashesOf = async (folder: string) => new Set((await readPool(folder)).map((tx) => tx.hash))

describe.skipIf(unavailable !== undefined)("three nodes on three hosts (network namespaces)", () => {
  let network: Awaited<ReturnType<typeof makeHosts>> | undefined
  let nodesDir = ""
  const nodes: Array<NodeProcess> = []
  const hosts: Array<Host> = []

  beforeAll(async () => {
    network = await makeHosts(3)
    hosts.push(...network.hosts)
    nodesDir = await makeNodesDir()
    const [first, , third] = hosts
    if (first === undefined || third === undefined) throw new Error("three hosts expected")
    for (const [i, host] of hosts.entries()) {
      const folder = await writeNodeFolder(nodesDir, `node-${i + 1}`, {
        port: PORT,
        knownPeers: [addressOf(first), addressOf(third)],
        env: {
          HOST: "0.0.0.0",
          ADVERTISED_ADDRESS: addressOf(host),
          // Fast enough for a test: a silent peer is dropped within 2 s, redials at most 1 s apart.
          HEARTBEAT_TIMEOUT_MS: "2000",
          REDIAL_BASE_DELAY_MS: "100",
          REDIAL_MAX_DELAY_MS: "1000",
          REDIAL_LEARNED_ATTEMPTS: "1000",
        },
      })
      nodes.push(startNodeProcess(folder, {}, onHost(host)))
    }
    await Promise.all(nodes.map((node) => waitListening(node)))
  })

  afterAll(async () => {
    await Promise.all(nodes.map((node) => node.stop("SIGKILL")))
    await network?.remove()
    if (nodesDir !== "") await rm(nodesDir, { recursive: true, force: true })
  })

  const fullMesh = (what: string) =>
    eventually(
      () =>
        nodes.every((node, i) => othersOf(i).every((other) => connectedNow(node).includes(other))) ? true : undefined,
      30_000,
      what,
    )
  const othersOf = (i: number) => hosts.filter((_, j) => j !== i).map(addressOf)

  it("they form a full mesh through their advertised addresses, never dial themselves, and share a transaction", async () => {
    const started = Date.now()
    await fullMesh("a full mesh of the three hosts")
    const meshMillis = Date.now() - started
    for (const [i, node] of nodes.entries()) {
      const self = addressOf(hosts[i] as Host)
      expect(connectedNow(node)).not.toContain(self)
      // Listening on 0.0.0.0 with itself in known-peers.json: its own address is never dialled.
      expect(node.lines.some((line) => messageText(line) === "dial started" && line.annotations.peer === self)).toBe(
        false,
      )
    }
    const [tx] = newTransactions(1)
    const [first, second] = hosts
    if (tx === undefined || first === undefined || second === undefined) return
    // A client on the second host adds it to the first host's node, across the bridge.
    await sendFrom(second, addressOf(first), [tx])
    for (const node of nodes) {
      await eventually(async () => ((await hashesOf(node.folder)).has(tx.hash) ? true : undefined), 15_000, "the pools")
    }
    console.log(`multihost: full mesh ${meshMillis} ms after the nodes listened; a transaction in all three pools`)
  })

  it("a host whose link goes down drops out; back up, the mesh re-forms and its pool catches up", async () => {
    const [first, , third] = hosts
    const [node1, node2, node3] = nodes
    if (!network || !first || !third || !node1 || !node2 || !node3) return
    await network.setLink(third, false)
    const down = Date.now()
    // The other two notice the silence (heartbeat) and drop it.
    await eventually(
      () =>
        [node1, node2].every((node) => !connectedNow(node).includes(addressOf(third))) &&
        connectedNow(node3).length === 0
          ? true
          : undefined,
      20_000,
      "the third host dropped on both sides",
    )
    const droppedMillis = Date.now() - down
    const missed = newTransactions(5)
    await sendFrom(first, addressOf(first), missed)
    for (const node of [node1, node2]) {
      await eventually(
        async () => {
          const pool = await hashesOf(node.folder)
          return missed.every((tx) => pool.has(tx.hash)) ? true : undefined
        },
        15_000,
        "the transactions on the hosts that are up",
      )
    }
    const whileDown = await hashesOf(node3.folder)
    expect(missed.some((tx) => whileDown.has(tx.hash))).toBe(false)

    await network.setLink(third, true)
    const up = Date.now()
    await fullMesh("the mesh re-formed")
    const meshMillis = Date.now() - up
    await eventually(
      async () => {
        const pool = await hashesOf(node3.folder)
        return missed.every((tx) => pool.has(tx.hash)) ? true : undefined
      },
      20_000,
      "the third host's pool caught up",
    )
    const pools = await Promise.all(nodes.map((node) => hashesOf(node.folder)))
    for (const pool of pools) expect([...pool].sort()).toEqual([...(pools[0] ?? [])].sort())
    console.log(
      `multihost: link down: dropped by its peers within ${droppedMillis} ms; link up: full mesh ${meshMillis} ms later, ` +
        `${missed.length} missed transactions caught up (${Date.now() - up} ms after the link came back)`,
    )
  })
})
