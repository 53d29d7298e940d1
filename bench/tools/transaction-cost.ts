import { addressOf } from "../lib/processes.js"
import { sleep } from "../lib/time.js"
import { makeTransactions, openSender, transactionFrame } from "../lib/transactions.js"
import { cpuMillis, implArgument, startProbeCluster } from "./cpu.js"

/**
 * `npx tsx bench/tools/transaction-cost.ts [ours|baseline] [nodes] [count]`: the CPU a network spends
 * per transaction, sent one every GAP ms (default 10) into node 1, starting SETTLE ms (default 2000)
 * after every node listens. Prints the CPU per transaction of all nodes together for each 50 sent (so
 * the warm-up shows), and per node over the whole run (µs, /proc/<pid>/schedstat). Env: PROF,
 * BENCH_BUNDLE as in connection-cost.ts. Ports BASE_PORT+1.. are used (BASE_PORT default 6500).
 */
const impl = implArgument(process.argv[2])
const size = Number(process.argv[3] ?? 3)
const count = Number(process.argv[4] ?? 500)
const gapMillis = Number(process.env.GAP ?? 10)
const cluster = await startProbeCluster(impl, size)
const pids = cluster.nodes.map((node) => node.pid)
const cpuOfAll = () => pids.map(cpuMillis)
await sleep(Number(process.env.SETTLE ?? 2000))
const sender = await openSender(addressOf(cluster.nodes[0]?.port ?? 0))
const start = cpuOfAll()
let chunkStart = start
const perChunk: Array<string> = []
for (const [index, tx] of makeTransactions(count).entries()) {
  sender.send(transactionFrame(tx))
  await sleep(gapMillis)
  if ((index + 1) % 50 === 0) {
    const now = cpuOfAll()
    const spent = now.reduce((total, millis, node) => total + millis - (chunkStart[node] ?? 0), 0)
    perChunk.push(((spent * 1000) / 50).toFixed(0))
    chunkStart = now
  }
}
await sleep(300)
const end = cpuOfAll()
console.log(impl, "all nodes, µs per transaction, each 50 sent:", perChunk.join(" "))
console.log(
  impl,
  "per node, µs per transaction:",
  end.map((millis, node) => (((millis - (start[node] ?? 0)) * 1000) / count).toFixed(0)).join(" "),
)
sender.close()
await cluster.stop()
process.exit(0)
