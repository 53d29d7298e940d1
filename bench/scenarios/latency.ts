import type { Cluster } from "../lib/cluster.js"
import { PoolWatcher, waitForHashEverywhere } from "../lib/pools.js"
import { addressOf } from "../lib/processes.js"
import type { FigureSpec } from "../lib/results.js"
import { percentile } from "../lib/stats.js"
import { now } from "../lib/time.js"
import { makeTransactions, openSender, transactionFrame } from "../lib/transactions.js"
import type { ScenarioContext } from "./context.js"

const percentiles = [50, 95, 99] as const

/** How long one transaction may take to reach every pool before it counts as lost. */
const deliveryTimeoutMs = 5_000

export const latencySpecs = (size: number): Array<FigureSpec> =>
  percentiles.map((p) => ({
    id: `latency-${size}-p${p}`,
    scenario: "latency",
    label: `propagation to every pool, N=${size}, p${p} (ms)`,
    unit: "ms",
    better: "lower",
  }))

/**
 * (2) Propagation latency on a formed mesh: transactions sent one at a time into node 1 over one open
 * socket; each is timed from just before the send until the bench sees it in every node's
 * transactions.json. The next is sent once the previous one is everywhere.
 */
export const measureLatency = async ({ config, record, log }: ScenarioContext, cluster: Cluster): Promise<void> => {
  const size = cluster.nodes.length
  const specs = latencySpecs(size)
  const pools = cluster.nodes.map((node) => new PoolWatcher(node.poolFile))
  const sender = await openSender(addressOf(cluster.nodes[0]?.port ?? 0))
  const latencies: Array<number> = []
  let lost = 0
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
  sender.close()
  const problem =
    lost > 0
      ? { kind: "lost" as const, detail: `${lost} transaction(s) not in every pool within ${deliveryTimeoutMs} ms` }
      : undefined
  for (const [i, p] of percentiles.entries()) {
    const spec = specs[i]
    if (spec !== undefined) record(spec, { value: percentile(latencies, p), ...(problem && { problem }) })
  }
  log(
    `N=${size}: ${percentiles.map((p) => `p${p} ${(percentile(latencies, p) ?? Number.NaN).toFixed(1)}`).join(", ")} ms over ${latencies.length} transactions` +
      (lost > 0 ? `, ${lost} LOST` : ""),
  )
}
