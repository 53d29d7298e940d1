import { outboundNodePorts } from "../lib/sockets.js"
import { now, sleep } from "../lib/time.js"
import { implArgument, startProbeCluster } from "./cpu.js"

/**
 * `npx tsx bench/tools/mesh-timeline.ts [ours|baseline] [nodes]`: when each outbound connection of a
 * forming mesh appeared (ms after the last node listened, from /proc, polled every 2 ms), e.g.
 * `4->7@140`. Gaps between waves show what the mesh waits for. Ports BASE_PORT+1.. are used (BASE_PORT default 6500).
 */
const impl = implArgument(process.argv[2])
const size = Number(process.argv[3] ?? 10)
const cluster = await startProbeCluster(impl, size)
const ports = cluster.nodes.map((node) => node.port)
const pids = cluster.nodes.map((node) => node.pid)
const origin = cluster.allListeningAt
const firstPort = ports[0] ?? 0
console.log("listening at:", cluster.nodes.map((node) => (node.listeningAt - origin).toFixed(0)).join(" "))
const seen = new Map<string, number>()
const deadline = now() + 8_000
while (now() < deadline && seen.size < size * (size - 1)) {
  const outbound = outboundNodePorts(pids, new Set(ports))
  const at = now() - origin
  for (const [index, peers] of outbound.entries()) {
    for (const port of peers) {
      const key = `${index + 1}->${port - firstPort + 1}`
      if (!seen.has(key)) seen.set(key, at)
    }
  }
  await sleep(2)
}
const ordered = [...seen.entries()].sort((a, b) => a[1] - b[1])
console.log(ordered.map(([key, at]) => `${key}@${at.toFixed(0)}`).join(" "))
console.log(`${seen.size} of ${size * (size - 1)} connections, the last at ${ordered.at(-1)?.[1].toFixed(0)} ms`)
await cluster.stop()
process.exit(0)
