import type { Cluster } from "../lib/cluster.js"
import { PoolWatcher, waitForHashEverywhere } from "../lib/pools.js"
import { addressOf, totalCpuMs } from "../lib/processes.js"
import type { FigureSpec } from "../lib/results.js"
import { percentile } from "../lib/stats.js"
import { now } from "../lib/time.js"
import { makeTransactions, openSender, transactionFrame } from "../lib/transactions.js"
import type { ScenarioContext } from "./context.js"

const percentiles = [50, 95, 99] as const

/** How long one transaction may take to reach every pool before it counts as lost. */
const deliveryTimeoutMs = 5_000

export const latencySpecs = (size: number): Array<FigureSpec> => [
  ...percentiles.map(
    (p): FigureSpec => ({
      id: `latency-${size}-p${p}`,
      scenario: "latency",
      label: `propagation to every pool, N=${size}, p${p} (ms)`,
      unit: "ms",
      better: "lower",
    }),
  ),
  cpuSpec(size),
]

const cpuSpec = (size: number): FigureSpec => ({
  id: `latency-${size}-cpu`,
  scenario: "latency",
  label: `propagation, N=${size}: CPU per transaction, all nodes (µs)`,
  unit: "µs",
  better: "lower",
})

/**
 * (2) Propagation latency on a formed mesh: transactions sent one at a time into node 1 over one open
 * socket; each is timed from just before the send until the bench sees it in every node's
 * transactions.json. The next is sent once the previous one is everywhere. A warm-up of the same kind
 * goes first, untimed (`latencyWarmup`): a node's first transactions run unoptimised code.
 */
export const measureLatency = async ({ config, record, log }: ScenarioContext, cluster: Cluster): Promise<void> => {
  const size = cluster.nodes.length
  const specs = latencySpecs(size)
  const pools = cluster.nodes.map((node) => new PoolWatcher(node.poolFile))
  const sender = await openSender(addressOf(cluster.nodes[0]?.port ?? 0))
  const latencies: Array<number> = []
  let lost = 0
  for (const tx of makeTransactions(config.latencyWarmup)) {
    sender.send(transactionFrame(tx))
    await waitForHashEverywhere(pools, tx.hash, { timeoutMs: deliveryTimeoutMs, pollMs: config.pollMs })
  }
  const cpuBefore = totalCpuMs(cluster.nodes.map((node) => node.pid))
  for (const tx of makeTransactions(config.latencySamples)) {
    const sentAt = now()
    sender.send(transactionFrame(tx))
    const arrivedAt = await waitForHashEverywhere(pools, tx.hash, {
      timeoutMs: deliveryTimeoutMs,
      pollMs: config.pollMs,
    })
    if (arrivedAt === undefined) lost++
    else latencies.push(arrivedAt - sentAt)
    if (lost >= 3) break
  }
  const cpuAfter = totalCpuMs(cluster.nodes.map((node) => node.pid))
  sender.close()
  const problem =
    lost > 0
      ? { kind: "lost" as const, detail: `${lost} transaction(s) not in every pool within ${deliveryTimeoutMs} ms` }
      : undefined
  for (const [i, p] of percentiles.entries()) {
    const spec = specs[i]
    if (spec !== undefined) record(spec, { value: percentile(latencies, p), ...(problem && { problem }) })
  }
  // What the nodes spent per transaction, idle time excluded: a figure load barely moves.
  const cpuPerTransaction =
    cpuBefore === undefined || cpuAfter === undefined || latencies.length === 0
      ? undefined
      : ((cpuAfter - cpuBefore) * 1000) / latencies.length
  record(cpuSpec(size), { value: cpuPerTransaction })
  log(
    `N=${size}: ${percentiles.map((p) => `p${p} ${(percentile(latencies, p) ?? Number.NaN).toFixed(1)}`).join(", ")} ms over ${latencies.length} transactions, CPU ${cpuPerTransaction?.toFixed(0) ?? "?"} µs/tx` +
      (lost > 0 ? `, ${lost} LOST` : ""),
  )
}
