import { type Cluster, startCluster } from "../lib/cluster.js"
import { PoolWatcher, waitForDelivery } from "../lib/pools.js"
import { addressOf, readRssKb, totalCpuMs } from "../lib/processes.js"
import type { FigureSpec, Problem } from "../lib/results.js"
import { now, sleep } from "../lib/time.js"
import { makeTransactions, openSender, transactionFrame } from "../lib/transactions.js"
import { clusterOptions, type ScenarioContext, waitForFullMesh } from "./context.js"

/** With no pool file changing for this long, what is missing counts as lost rather than pending. */
const stallMs = 5_000

/**
 * How long after the first idle sample the settled one is taken. V8 keeps the young generation that
 * start-up grew until its memory reducer finds the process quiet, which on our nodes took about 17 s
 * from start; so "idle" right after the mesh forms is still start-up, and the settled figure is what a
 * node that sits idle costs.
 */
const settleMs = 25_000

const meanRssMb = (cluster: Cluster): number | undefined => {
  const values = cluster.nodes.flatMap((node) => {
    const kb = readRssKb(node.pid)
    return kb === undefined ? [] : [kb / 1024]
  })
  return values.length === 0 ? undefined : values.reduce((a, b) => a + b, 0) / values.length
}

const ingestSpecs = (count: number) => {
  const figure = (id: string, label: string, unit: string, better: "lower" | "higher"): FigureSpec => ({
    id: `ingest-${count}-${id}`,
    scenario: "ingest",
    label: `ingest ${count.toLocaleString("en-US")} into node 1 of 3: ${label}`,
    unit,
    better,
  })
  return {
    rate: figure("rate", `tx/s (${count.toLocaleString("en-US")} ÷ the time below)`, "tx/s", "higher"),
    seconds: figure("seconds", "first send → every pool holds all (s)", "s", "lower"),
    lost: figure("lost", "lost", "tx", "lower"),
    duplicated: figure("duplicated", "duplicated", "tx", "lower"),
    invalid: figure("invalid-reads", "invalid pool-file reads", "reads", "lower"),
    cpu: figure("cpu", "CPU per transaction, 3 nodes together (µs)", "µs", "lower"),
    idleRss: {
      id: "rss-idle",
      scenario: "ingest",
      label: "RSS per node, idle mesh of 3, 1 s after it formed (MB)",
      unit: "MB",
      better: "lower",
    } satisfies FigureSpec,
    settledRss: {
      id: "rss-idle-settled",
      scenario: "ingest",
      label: `RSS per node, idle mesh of 3, ${settleMs / 1000} s later (MB)`,
      unit: "MB",
      better: "lower",
    } satisfies FigureSpec,
    afterRss: {
      id: `rss-after-${count}`,
      scenario: "ingest",
      label: `RSS per node after ingest of ${count.toLocaleString("en-US")} (MB)`,
      unit: "MB",
      better: "lower",
    } satisfies FigureSpec,
  }
}

/**
 * (3) Sustained ingest, the way the benchmark issue defines it: on a formed 3-node mesh, one client
 * socket queues `count` TRANSACTION frames into node 1 as fast as ws sends them; the pools are polled
 * from disk until all three hold all of them. The figure is the time from the first send to that moment,
 * and the rate is `count` divided by it; with lost and duplicated counts and the CPU all three nodes
 * spent per transaction. Also (5) memory: each node's mean RSS with the mesh idle, and after the ingest.
 */
export const measureIngest = async (
  { config, record, log }: ScenarioContext,
  cluster: Cluster,
  count: number,
): Promise<void> => {
  const specs = ingestSpecs(count)
  await sleep(1_000)
  record(specs.idleRss, { value: meanRssMb(cluster) })
  // Once per run (before the first ingest), and not in the quick smoke run.
  if (!config.shareClusters && count === config.ingestCounts[0]) {
    await sleep(settleMs)
    record(specs.settledRss, { value: meanRssMb(cluster) })
  }

  const transactions = makeTransactions(count)
  const frames = transactions.map(transactionFrame)
  const sent = new Set(transactions.map((tx) => tx.hash))
  const pools = cluster.nodes.map((node) => new PoolWatcher(node.poolFile))
  const sender = await openSender(addressOf(cluster.nodes[0]?.port ?? 0))
  // A loss is easier to explain when it is known whether node 1 closed the sending socket, and how.
  let closedByNode: string | undefined
  sender.once("close", (code, reason) => {
    closedByNode = `node 1 closed the sending socket (${code}${reason.length > 0 ? ` ${reason.toString()}` : ""})`
  })
  const cpuBefore = totalCpuMs(cluster.nodes.map((node) => node.pid))
  const startedAt = now()
  for (const frame of frames) sender.send(frame)
  const outcome = await waitForDelivery(pools, sent, {
    expectedBytes: Buffer.byteLength(JSON.stringify(transactions, null, 2)),
    timeoutMs: config.ingestTimeoutMs(count),
    stallMs,
    pollMs: Math.max(config.pollMs, 5),
  })
  const endedAt = outcome.completeAt ?? now()
  const cpuAfter = totalCpuMs(cluster.nodes.map((node) => node.pid))
  const closedEarly = closedByNode
  sender.close()
  const inEvery = Math.min(...outcome.delivered)
  const seconds = (endedAt - startedAt) / 1000
  const perNode = outcome.delivered.join("/")
  const problem: Problem | undefined =
    outcome.completeAt !== undefined
      ? undefined
      : outcome.stalled
        ? {
            kind: "lost",
            detail: `${count - inEvery} of ${count} never reached every pool (${perNode} per node)${closedEarly === undefined ? "" : `; ${closedEarly}`}`,
          }
        : {
            kind: "timeout",
            detail: `did not finish in ${seconds.toFixed(0)} s: ${inEvery}/${count} in every pool (${perNode} per node), still writing; rate is over that window`,
          }
  record(specs.rate, { value: inEvery / seconds, ...(problem && { problem }) })
  record(specs.seconds, { value: problem === undefined ? seconds : undefined, ...(problem && { problem }) })
  record(
    specs.lost,
    problem?.kind === "timeout"
      ? { value: undefined, problem }
      : { value: count - inEvery, ...(problem && { problem }) },
  )
  record(specs.duplicated, {
    value: outcome.duplicates,
    ...(outcome.duplicates > 0 && {
      problem: { kind: "duplicated", detail: `${outcome.duplicates} duplicate entries in a pool` },
    }),
  })
  record(specs.invalid, { value: outcome.invalidReads })
  // Load on a shared machine stretches the wall-clock rate; the CPU the nodes used barely moves.
  // Read once every pool is complete, so it includes the writes (the nodes are idle after that).
  record(specs.cpu, {
    value: cpuBefore === undefined || cpuAfter === undefined ? undefined : ((cpuAfter - cpuBefore) * 1000) / inEvery,
  })
  record(specs.afterRss, { value: meanRssMb(cluster) })
  log(
    `${count}: ${(inEvery / seconds).toFixed(0)} tx/s over ${seconds.toFixed(1)} s, in each pool ${perNode}, ` +
      `duplicated ${outcome.duplicates}, invalid reads ${outcome.invalidReads}, ` +
      `CPU ${cpuBefore === undefined || cpuAfter === undefined ? "?" : (((cpuAfter - cpuBefore) * 1000) / inEvery).toFixed(0)} µs/tx${problem ? ` [${problem.kind.toUpperCase()}]` : ""}`,
  )
  // What node 1 said last (warnings and errors at the default log level) tells where a loss came from.
  if (problem?.kind === "lost") log(`node 1's last output:\n${cluster.nodes[0]?.outputTail() ?? ""}`)
}

export const recordIngestFailure = ({ record }: ScenarioContext, count: number, detail: string): void => {
  const specs = ingestSpecs(count)
  for (const spec of [specs.rate, specs.seconds, specs.lost, specs.duplicated]) {
    record(spec, { value: undefined, problem: { kind: "failed", detail } })
  }
}

/** (3) and (5), each ingest on a fresh 3-node network with empty pools. */
export const runIngest = async (context: ScenarioContext): Promise<void> => {
  const { impl, config, log } = context
  for (const count of config.ingestCounts) {
    let cluster: Cluster | undefined
    try {
      cluster = await startCluster(impl, 3, clusterOptions(config))
      const { missing } = await waitForFullMesh(cluster, config)
      if (missing !== undefined) throw new Error(missing)
      await measureIngest(context, cluster, count)
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error)
      recordIngestFailure(context, count, detail)
      log(`${count}: failed: ${detail}`)
    } finally {
      await cluster?.stop()
    }
  }
}
