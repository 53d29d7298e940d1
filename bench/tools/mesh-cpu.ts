import { sharesConnections } from "../lib/processes.js"
import { listedNodePorts } from "../lib/sockets.js"
import { now, pollUntil, sleep } from "../lib/time.js"
import { cpuMillis, implArgument, median, startProbeCluster } from "./cpu.js"

/**
 * `npx tsx bench/tools/mesh-cpu.ts [ours|baseline] [nodes] [rounds]`: the CPU each node spends while a
 * mesh forms (from the moment the last node listens until every node has dialled every other, as
 * the bench times it), and what it had spent before, starting up. From /proc/<pid>/schedstat.
 * Ports BASE_PORT+1.. are used (BASE_PORT default 6500).
 */
const impl = implArgument(process.argv[2])
const size = Number(process.argv[3] ?? 10)
const rounds = Number(process.argv[4] ?? 3)
const rows: Array<{ mesh: number; startup: number; forming: number; settle: number }> = []
for (let round = 0; round < rounds; round++) {
  const cluster = await startProbeCluster(impl, size)
  const pids = cluster.nodes.map((node) => node.pid)
  const ports = cluster.nodes.map((node) => node.port)
  const atListening = pids.map(cpuMillis)
  const windowStart = process.hrtime.bigint() / 1000n
  let formedAt = 0
  await pollUntil(
    () => {
      const listed = listedNodePorts(pids, ports, sharesConnections(impl))
      formedAt = now()
      return listed.every((peers, index) => ports.every((port, j) => j === index || peers.has(port)))
    },
    15_000,
    2,
  )
  const atMesh = pids.map(cpuMillis)
  if (process.env.PROF !== undefined)
    console.log(`profile window (µs, monotonic): ${windowStart} ${process.hrtime.bigint() / 1000n}`)
  await sleep(1_000)
  const settled = pids.map(cpuMillis)
  const sum = (values: ReadonlyArray<number>) => values.reduce((a, b) => a + b, 0)
  const forming = atMesh.map((cpu, i) => cpu - (atListening[i] ?? 0))
  const row = {
    mesh: formedAt - cluster.allListeningAt,
    startup: sum(atListening),
    forming: sum(forming),
    settle: sum(settled.map((cpu, i) => cpu - (atMesh[i] ?? 0))),
  }
  rows.push(row)
  console.log(
    `mesh ${row.mesh.toFixed(0)} ms; CPU, all nodes: before listening ${row.startup.toFixed(0)} ms, forming ${row.forming.toFixed(0)} ms (per node ${forming.map((v) => v.toFixed(0)).join(" ")}), next second ${row.settle.toFixed(0)} ms`,
  )
  await cluster.stop()
  await sleep(300)
}
const pick = (key: keyof (typeof rows)[number]) => median(rows.map((row) => row[key])).toFixed(0)
console.log(
  `${impl} N=${size} medians: mesh ${pick("mesh")} ms, forming CPU ${pick("forming")} ms, startup CPU ${pick("startup")} ms, next second ${pick("settle")} ms`,
)
