import { readFileSync } from "node:fs"
import { WebSocket } from "ws"
import { sleep } from "../lib/time.js"
import { startProbeCluster } from "./cpu.js"

/**
 * `npx tsx bench/tools/flood-memory.ts [frames]`: what a peer that sends faster than a node handles
 * costs that node's memory. One node; one socket sends `frames` (default 300,000) SYNC_REQUEST frames
 * of 2.7 kB, each a valid message the node must decode, as fast as ws takes them. Prints the node's
 * RSS before and after, and its peak (VmHWM). Env: BENCH_BUNDLE as in connection-cost.ts. Port
 * BASE_PORT+1 is used (BASE_PORT default 6500).
 */
const frames = Number(process.argv[2] ?? 300_000)
const cluster = await startProbeCluster("ours", 1)
const [node] = cluster.nodes
if (node === undefined) throw new Error("no node started")

/** A /proc/<pid>/status figure in MB. */
const memory = (key: "VmRSS" | "VmHWM"): number => {
  const line = readFileSync(`/proc/${node.pid}/status`, "utf8")
    .split("\n")
    .find((entry) => entry.startsWith(`${key}:`))
  return Number(/(\d+) kB/.exec(line ?? "")?.[1] ?? Number.NaN) / 1024
}

try {
  await sleep(500)
  console.log(`before: RSS ${memory("VmRSS").toFixed(0)} MB`)
  const client = new WebSocket(`ws://localhost:${node.port}`)
  client.on("error", () => {})
  await new Promise((resolve) => client.once("open", resolve))
  const hashes = Array.from({ length: 40 }, (_, i) => i.toString(16).padStart(64, "0"))
  const frame = JSON.stringify({ type: "SYNC_REQUEST", data: hashes })
  const startedAt = performance.now()
  for (let i = 0; i < frames; i++) client.send(frame)
  // Sent once ws has handed every byte to the kernel (or the node closed the connection).
  while (client.bufferedAmount > 0 && client.readyState === WebSocket.OPEN) await sleep(5)
  console.log(
    `sent ${frames} frames of ${frame.length} bytes in ${(performance.now() - startedAt).toFixed(0)} ms; the node ${client.readyState === WebSocket.OPEN ? "kept" : "closed"} the connection`,
  )
  await sleep(1_000)
  console.log(`after: RSS ${memory("VmRSS").toFixed(0)} MB, peak ${memory("VmHWM").toFixed(0)} MB`)
  client.terminate()
} finally {
  await cluster.stop()
}
process.exit(0)
