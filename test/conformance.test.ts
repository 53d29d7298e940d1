import { readdir, readFile } from "node:fs/promises"
import { join } from "node:path"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { WebSocket, WebSocketServer } from "ws"
import { makeTransaction } from "../src/domain/Transaction.js"
import {
  eventually,
  makeNodesDir,
  type NodeProcess,
  readPool,
  repoRoot,
  startNodeProcess,
  waitListening,
  writeNodeFolder,
} from "./support/processes.js"
import { canConnectToSocket, probeHandshake, startSocketServerAndHandshake } from "./support/specHelpers.js"

/**
 * The spec's ten tests and its Bonus, against three real node processes on the spec's ports
 * 4001-4003 (the only test file that uses them). The node folders are clones of nodes/node-1 in a
 * temporary directory, so the repository's pool stays untouched.
 */
const node1Folder = join(repoRoot, "nodes/node-1")
const addresses = ["ws://localhost:4001", "ws://localhost:4002", "ws://localhost:4003"]
const nodes: Array<NodeProcess> = []
let nodesDir = ""

beforeAll(async () => {
  nodesDir = await makeNodesDir()
  const knownPeers = JSON.parse(await readFile(join(node1Folder, "known-peers.json"), "utf8")) as Array<string>
  const started = Date.now()
  for (const n of [1, 2, 3]) {
    const folder = await writeNodeFolder(nodesDir, `node-${n}`, { port: 4000 + n, knownPeers })
    nodes.push(startNodeProcess(folder))
  }
  await Promise.all(nodes.map((node) => waitListening(node)))
  const listening = Date.now()
  // The mesh is complete when every node has logged a connection to each of the other two: one it
  // dialled, or one the other dialled and it adopted (one connection per pair: src/protocol/pairing.ts).
  const connectedLines = new Set(["connected; handshake sent", "inbound connection adopted; handshake sent"])
  await Promise.all(
    nodes.map((node, i) =>
      Promise.all(
        addresses
          .filter((_, j) => j !== i)
          .map((peer) =>
            node.waitForLog((line) => connectedLines.has(String(line.message)) && line.annotations.peer === peer),
          ),
      ),
    ),
  )
  console.log(
    `conformance: 3 nodes listening ${listening - started} ms after spawn; full mesh ${Date.now() - listening} ms later`,
  )
})

afterAll(async () => {
  const exits = await Promise.all(nodes.map((node) => node.stop("SIGTERM")))
  console.log(`conformance: nodes stopped with ${JSON.stringify(exits.map((exit) => exit.code))}`)
})

describe.sequential("the spec's tests", () => {
  it("test 1: known-peers.json is the spec's array", async () => {
    const peers = JSON.parse(await readFile(join(node1Folder, "known-peers.json"), "utf8"))
    assert.deepEqual(peers, ["ws://localhost:4001", "ws://localhost:4003"])
  })

  it("test 2: a WebSocket server listens on port 4001", async () => {
    assert.isTrue(await canConnectToSocket("ws://localhost:4001"))
  })

  it("test 3: a HANDSHAKE makes the node connect to the addresses in it", async () => {
    const res = await startSocketServerAndHandshake({ myPort: 4103, connectOnly: true })
    assert.isTrue(res)
  })

  it("test 4: the node's HANDSHAKE includes its own address", async () => {
    const res = await probeHandshake({ myPort: 4104 })
    assert.equal(res.type, "HANDSHAKE")
    assert.typeOf(res.data, "array")
    assert.include(res.data, "ws://localhost:4001")
  })

  it("test 5: the HANDSHAKE includes the address just connected", async () => {
    const res = await probeHandshake({ myPort: 4105 })
    assert.include(res.data, "ws://localhost:4105")
  })

  it("test 6: a closed connection's address is no longer in the HANDSHAKE", async () => {
    const res1 = await probeHandshake({ myPort: 4106 })
    const res2 = await probeHandshake({ myPort: 4206 })
    assert.include(res1.data, "ws://localhost:4106", "Your handshake message should include an open socket address")
    assert.notInclude(
      res2.data,
      "ws://localhost:4106",
      "Your handshake message should not include a closed socket address",
    )
  })

  it("test 7: a WebSocket server listens on port 4002", async () => {
    assert.isTrue(await canConnectToSocket("ws://localhost:4002"))
  })

  it("test 8: a WebSocket server listens on port 4003", async () => {
    assert.isTrue(await canConnectToSocket("ws://localhost:4003"))
  })

  it("test 9: node folders hold no code, and every node runs src/main.ts", async () => {
    for (const dir of [nodesDir, join(repoRoot, "nodes")]) {
      const folders = (await readdir(dir)).filter((name) => /^node-\d+$/.test(name))
      assert.isAtLeast(folders.length, 1)
      for (const folder of folders) {
        const files = await readdir(join(dir, folder))
        const code = files.filter((file) => /\.(m?[jt]s|cjs)$/.test(file))
        assert.deepEqual(code, [], `${folder} should hold configuration and data only`)
      }
    }
    for (const node of nodes) assert.include(node.child.spawnargs, join(repoRoot, "src/main.ts"))
    assert.isAtLeast(nodes.length, 3)
  })

  it("test 10: every node has an open connection to every other node", async () => {
    const res1 = await probeHandshake({ myPort: 4110, theirAddress: "ws://localhost:4001" })
    const res2 = await probeHandshake({ myPort: 4210, theirAddress: "ws://localhost:4002" })
    const res3 = await probeHandshake({ myPort: 4310, theirAddress: "ws://localhost:4003" })
    for (const [res, port] of [
      [res1, 4001],
      [res2, 4002],
      [res3, 4003],
    ] as const) {
      for (const address of addresses) {
        assert.include(res.data, address, `Your node on port ${port} should include '${address}' in its handshake`)
      }
    }
  })

  it("bonus: a transaction sent to node-1 is in all three pools exactly once, and nobody sends it again", async () => {
    // An observer joins like any spec node and counts the TRANSACTION frames each node sends it.
    const observerPort = 4150
    const received = new Map<string, Array<string>>()
    const observer = new WebSocketServer({ port: observerPort })
    await new Promise((resolve) => observer.once("listening", resolve))
    let connections = 0
    observer.on("connection", (socket, request) => {
      connections++
      const from = `${request.socket.remotePort}`
      socket.on("message", (data) => {
        const message = JSON.parse(data.toString()) as { type: string; data: { hash: string } }
        if (message.type === "TRANSACTION") received.set(from, [...(received.get(from) ?? []), message.data.hash])
      })
    })
    for (const address of addresses) {
      const socket = new WebSocket(address)
      await new Promise((resolve) => socket.once("open", resolve))
      socket.send(JSON.stringify({ type: "HANDSHAKE", data: [`ws://localhost:${observerPort}`] }))
      socket.close()
    }
    await eventually(() => (connections === 3 ? true : undefined), 5_000, "the three nodes to dial the observer")

    const send = async (tx: ReturnType<typeof makeTransaction>) => {
      const socket = new WebSocket("ws://localhost:4001")
      await new Promise((resolve) => socket.once("open", resolve))
      socket.send(JSON.stringify({ type: "TRANSACTION", data: tx }))
      socket.close()
    }
    const tx = makeTransaction({ fromAddress: null, toAddress: "04ab", amount: 17, timeStamp: Date.now() })
    const sentAt = Date.now()
    await send(tx)
    await eventually(
      async () => {
        const pools = await Promise.all(nodes.map((node) => readPool(node.folder)))
        return pools.every((pool) => pool.some((entry) => entry.hash === tx.hash)) ? pools : undefined
      },
      5_000,
      "the transaction in all three pools",
    )
    console.log(`conformance: transaction in all three pools ${Date.now() - sentAt} ms after it was sent`)
    // A second transaction marks the end: once every pool holds it, anything resent would have come before it.
    const marker = makeTransaction({ fromAddress: null, toAddress: "04ab", amount: 18, timeStamp: Date.now() })
    await send(marker)
    await eventually(
      async () => {
        const pools = await Promise.all(nodes.map((node) => readPool(node.folder)))
        const everywhere = pools.every((pool) => pool.some((entry) => entry.hash === marker.hash))
        const seen = [...received.values()].some((hashes) => hashes.includes(marker.hash))
        return everywhere && seen ? true : undefined
      },
      5_000,
      "the marker in every pool and at the observer",
    )
    // The observer, a plain spec node, got the transaction, and no node sent it to it twice. (Our nodes
    // skip peers the sender already reaches, so it may come from one node rather than from all three.)
    const copies = [...received.values()].flat().filter((hash) => hash === tx.hash)
    assert.isAtLeast(copies.length, 1)
    for (const hashes of received.values()) {
      assert.isAtMost(hashes.filter((hash) => hash === tx.hash).length, 1)
      assert.isAtMost(hashes.filter((hash) => hash === marker.hash).length, 1)
    }
    for (const node of nodes) {
      const pool = await readPool(node.folder)
      assert.equal(pool.filter((entry) => entry.hash === tx.hash).length, 1)
    }
    for (const client of observer.clients) client.terminate()
    await new Promise((resolve) => observer.close(resolve))
  })
})
