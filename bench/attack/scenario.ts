import { killAllNodes } from "../lib/processes.js"
import { now, sleep } from "../lib/time.js"
import { type AttackNode, hashesInPoolFile, makeTrio, type NodeOptions } from "./nodes.js"
import { makeProber, openObserver, waitForMesh } from "./observer.js"

/** What an attack does to the three nodes, from its own sockets (on 127.0.0.2 and up, loopback only). */
export interface Attack {
  readonly name: string
  /** The item of issue 20 it plays ("Why" 1-7). */
  readonly why: string
  readonly nodeOptions?: (index: number) => NodeOptions
  /** Starts the attack; `stop` ends it and says what the attacker saw. */
  readonly start: (
    nodes: ReadonlyArray<AttackNode>,
    basePort: number,
  ) => Promise<{ readonly stop: () => Promise<string> }>
}

/** Honest probes of one phase: the worst latency seen, and those not seen (of which `stored` in every pool). */
export interface HonestProbes {
  readonly worstMs: number
  readonly missed: number
  readonly stored: number
  readonly count: number
}

export interface ScenarioResult {
  readonly name: string
  readonly why: string
  readonly alive: boolean
  readonly exits: ReadonlyArray<string>
  readonly peakRssMb: number
  readonly afterRssMb: number
  readonly poolMb: number
  /**
   * Honest latency to every node's pool, during and after: worst ms (a node that held a probe at the
   * 1 s deadline without relaying it counts as 1 s); probes not seen in every pool by then, and how
   * many of those were in every pool file at the end all the same.
   */
  readonly during: HonestProbes
  readonly after: HonestProbes
  readonly logLines: number
  readonly logBytes: number
  /** Log bytes a minute, the worst node's, over the attack. */
  readonly logBytesPerMinute: number | undefined
  /** From the restarted node listening to a full mesh again, ms (undefined: not within 15 s). */
  readonly meshMs: number | undefined
  readonly lost: number
  readonly attacker: string
}

const rssCeilingKb = 2 * 1024 * 1024

/** Runs one attack against a fresh 3-node network for `durationMs`, with an honest restart half-way. */
export const runScenario = async (
  attack: Attack,
  basePort: number,
  durationMs: number,
  log: (line: string) => void,
): Promise<ScenarioResult> => {
  const nodes = makeTrio(basePort, attack.nodeOptions)
  const [first, second] = nodes
  if (first === undefined || second === undefined) throw new Error("no nodes")
  for (const node of nodes) await node.start()
  const observer = await openObserver(basePort + 9)
  for (const node of nodes) observer.introduce(node.address)
  if ((await waitForMesh(nodes, 30_000)) === undefined) log("warning: the mesh did not form before the attack")
  const prober = await makeProber(nodes, observer)
  let peakKb = 0
  let poolBytes = 0
  const sampler = setInterval(() => {
    for (const node of nodes) {
      peakKb = Math.max(peakKb, node.rssKb() ?? 0)
      poolBytes = Math.max(poolBytes, node.poolBytes())
      // A node past the ceiling would take the machine with it: it is stopped and counts as dead.
      if ((node.rssKb() ?? 0) > rssCeilingKb)
        void node.stop().then(() => node.unexpectedExits.push(`port ${node.port}: stopped at the 2 GB ceiling`))
    }
  }, 250)
  const outputAtStart = nodes.map((node) => node.output.bytes)
  const attackStart = now()
  const running = await attack.start(nodes, basePort)
  let meshMs: number | undefined
  let restarted = false
  while (now() - attackStart < durationMs) {
    if (!restarted && now() - attackStart > durationMs / 2) {
      restarted = true
      await second.stop()
      await second.start()
      const listening = now()
      observer.introduce(second.address)
      const formed = await waitForMesh(nodes, 15_000)
      meshMs = formed === undefined ? undefined : formed - listening
      continue
    }
    prober.send(true)
    await sleep(1_000)
  }
  const attacker = await running.stop()
  const attackMinutes = (now() - attackStart) / 60_000
  const logBytesPerMinute = attack.nodeOptions?.(2).fullDisk
    ? undefined
    : Math.max(...nodes.map((node, i) => (node.output.bytes - (outputAtStart[i] ?? 0)) / attackMinutes))
  for (let i = 0; i < 5; i++) {
    prober.send(false)
    await sleep(1_000)
  }
  await sleep(2_000)
  await prober.settled()
  clearInterval(sampler)
  const afterKb = Math.max(...nodes.map((node) => node.rssKb() ?? 0))
  const alive = nodes.every((node) => node.alive())
  const summarise = (during: boolean) => {
    const latencies = prober.probes.filter((p) => p.during === during).map((p) => prober.latencyOf(p))
    const arrived = latencies.filter((ms): ms is number => ms !== undefined)
    return { worstMs: Math.max(0, ...arrived), missed: latencies.length - arrived.length, count: latencies.length }
  }
  log(
    `${attack.name}: honest latencies (ms, in order): ${prober.probes
      .map((p) => Math.round(prober.latencyOf(p) ?? -1))
      .join(" ")}`,
  )
  const during = summarise(true)
  const after = summarise(false)
  prober.close()
  for (const node of nodes) await node.stop()
  await observer.close()
  // Nothing accepted is lost: every probe a node relayed (so took into its pool) is in its pool file.
  let lost = 0
  for (const node of nodes) {
    const accepted = prober.probes.map((p) => p.hash).filter((hash) => observer.seen.get(hash)?.has(node.address))
    lost += accepted.length - hashesInPoolFile(node, accepted).size
  }
  // A probe some node never relayed to the observer may still have reached its pool: through the
  // catch-up sync (which does not relay), or before the observer was back on a restarted node.
  const unseen = prober.probes.filter((p) => prober.latencyOf(p) === undefined).map((p) => p.hash)
  const inEveryPool = nodes.reduce((held, node) => hashesInPoolFile(node, held), new Set<string>(unseen))
  const stored = (during: boolean) => prober.probes.filter((p) => p.during === during && inEveryPool.has(p.hash)).length
  killAllNodes()
  return {
    name: attack.name,
    why: attack.why,
    alive,
    exits: nodes.flatMap((node) => node.unexpectedExits),
    peakRssMb: peakKb / 1024,
    afterRssMb: afterKb / 1024,
    poolMb: poolBytes / 1024 / 1024,
    during: { ...during, stored: stored(true) },
    after: { ...after, stored: stored(false) },
    logLines: nodes.reduce((sum, node) => sum + node.output.lines, 0),
    logBytes: nodes.reduce((sum, node) => sum + node.output.bytes, 0),
    logBytesPerMinute,
    meshMs,
    lost,
    attacker,
  }
}
