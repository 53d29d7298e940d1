import { WebSocket, WebSocketServer } from "ws"
import { sleep } from "../lib/time.js"
import { cpuMillis, implArgument, median, startProbeCluster } from "./cpu.js"

/**
 * `npx tsx bench/tools/connection-cost.ts [ours|baseline] [rounds]`: the CPU one node spends per new
 * peer. Each round, a fresh peer (a ws server of this script's) dials the node and sends a HANDSHAKE
 * naming itself; the node dials it back and sends its own. Connections stay open, as in a mesh.
 * Prints each round's CPU (ms, from /proc/<pid>/schedstat), the first and the median of the rest.
 * Env: GAP (ms idle after each round, counted in it; default 100), PROF (a --cpu-prof directory),
 * BENCH_BUNDLE (another bundle to run as ours). Ports BASE_PORT+1 and BASE_PORT+200.. are used (BASE_PORT default 6500).
 */
const impl = implArgument(process.argv[2])
const rounds = Number(process.argv[3] ?? 30)
const gapMillis = Number(process.env.GAP ?? 100)
const cluster = await startProbeCluster(impl, 1)
const [node] = cluster.nodes
if (node === undefined) throw new Error("no node started")
await sleep(500)
const costs: Array<number> = []
// The node is stopped whatever happens (a peer port taken, a dial that never comes back).
try {
  for (let round = 0; round < rounds; round++) {
    const port = Number(process.env.BASE_PORT ?? 6500) + 200 + round
    const peer = new WebSocketServer({ port, host: "localhost" })
    await new Promise((resolve, reject) => {
      peer.once("listening", resolve)
      peer.once("error", reject)
    })
    const before = cpuMillis(node.pid)
    const dialledBack = new Promise<void>((resolve) => {
      peer.on("connection", (socket) => {
        socket.on("message", (data) => {
          if (String(data).includes("HANDSHAKE")) resolve()
        })
      })
    })
    const client = new WebSocket(`ws://localhost:${node.port}`)
    await new Promise((resolve) => client.once("open", resolve))
    client.send(JSON.stringify({ type: "HANDSHAKE", data: [`ws://localhost:${port}`] }))
    await dialledBack
    await sleep(gapMillis)
    costs.push(cpuMillis(node.pid) - before)
  }
} finally {
  await cluster.stop()
}
console.log(impl, "CPU ms per round:", costs.map((cost) => cost.toFixed(1)).join(" "))
console.log(`first ${costs[0]?.toFixed(1)} ms, median of rounds 6.. ${median(costs.slice(5)).toFixed(2)} ms`)
process.exit(0)
