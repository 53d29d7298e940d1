import type { Cluster, ClusterOptions } from "../lib/cluster.js"
import type { BenchConfig } from "../lib/config.js"
import { type MeshResult, openProbe, waitForMesh } from "../lib/probe.js"
import { addressOf, type ImplName, sharesConnections, totalCpuMs } from "../lib/processes.js"
import type { FigureSpec, Sample } from "../lib/results.js"
import { listedNodePorts } from "../lib/sockets.js"
import { now, pollUntil, sleep } from "../lib/time.js"

/** What a scenario gets for one implementation in one run. */
export interface ScenarioContext {
  readonly impl: ImplName
  readonly config: BenchConfig
  readonly record: (spec: FigureSpec, sample: Sample) => void
  readonly log: (line: string) => void
}

/** Where the bench's own servers listen, above the nodes' ports. */
export const relayPort = (basePort: number, index: number): number => basePort + 101 + index
export const probePort = (basePort: number, index: number): number => basePort + 201 + index

export const meshTimeoutMs = 15_000

/** How the scenarios start their clusters. */
export const clusterOptions = (
  config: BenchConfig,
  knownPeers?: (index: number) => ReadonlyArray<string>,
): ClusterOptions => ({
  basePort: config.basePort,
  logLevel: config.logLevel,
  profileDir: config.profileDir,
  timeoutMs: 60_000,
  ...(knownPeers !== undefined && { knownPeers }),
})

/**
 * Waits until every node of the cluster lists every node in its HANDSHAKE (or, with `expectedFor`,
 * the addresses given for it). Resolves the probe result and a description of what is missing, if any.
 */
export const waitForFullMesh = async (
  cluster: Cluster,
  config: BenchConfig,
  expectedFor: (index: number) => ReadonlyArray<string> = () => cluster.nodes.map((node) => addressOf(node.port)),
): Promise<{ readonly result: MeshResult; readonly missing: string | undefined }> => {
  const targets = cluster.nodes.map((node, index) => ({ address: addressOf(node.port), expected: expectedFor(index) }))
  const result = await waitForMesh(targets, probePort(config.basePort, 0), meshTimeoutMs)
  const incomplete = targets.flatMap((target, index) =>
    result.completeAt[index] === undefined
      ? [`node ${index + 1} listed ${result.listed[index] ?? 0}/${target.expected.length}`]
      : [],
  )
  const missing =
    incomplete.length === 0 ? undefined : `mesh not formed in ${meshTimeoutMs / 1000} s: ${incomplete.join(", ")}`
  return { result, missing }
}

/**
 * Times mesh formation without disturbing it: polls /proc for each node's established TCP connections
 * until every node's HANDSHAKE would list every other node (a spec node lists the nodes it dialled; ours
 * also those that dialled it: listedNodePorts). Then checks the result the spec's way: one
 * HANDSHAKE probe per node must list all N addresses. If one does not, probing goes on and the figure
 * becomes the time the last probe confirmed (`method: "probe"`).
 */
export const timeMeshFormation = async (
  cluster: Cluster,
  config: BenchConfig,
): Promise<{ readonly formedAt: number; readonly method: "tcp" | "probe"; readonly cpuMs: number | undefined }> => {
  const ports = cluster.nodes.map((node) => node.port)
  const pids = cluster.nodes.map((node) => node.pid)
  const shared = cluster.nodes.every((node) => sharesConnections(node.impl))
  let formedAt = 0
  const cpuBefore = totalCpuMs(pids)
  const connected = await pollUntil(
    () => {
      const listed = listedNodePorts(pids, ports, shared)
      formedAt = now()
      return listed.every((peers, index) => ports.every((port, j) => j === index || peers.has(port)))
    },
    meshTimeoutMs,
    config.pollMs,
  )
  if (!connected) throw new Error(`mesh not formed in ${meshTimeoutMs / 1000} s (TCP connections missing)`)
  const cpuAfterTcp = totalCpuMs(pids)
  // One node at a time, with the spec helper's 5 s patience: the check must not load the mesh it checks.
  // A node whose HANDSHAKE does not list everyone yet (its TCP connection is up, the WebSocket and
  // HANDSHAKE on it not yet) is asked again at once until it does; the figure is then when the last
  // such node did. (Starting over with every node probed in parallel used to add the whole pass and a
  // second one: the samples split into ~1 s and 2-4 s.)
  const all = ports.map(addressOf)
  const probe = await openProbe(probePort(config.basePort, 0))
  const deadline = now() + meshTimeoutMs
  let lateAt: number | undefined
  let cpuAfter = cpuAfterTcp
  try {
    for (const port of ports) {
      for (let retried = false; ; retried = true) {
        const listed = await probe.ask(addressOf(port), 5_000)
        if (all.every((address) => listed?.includes(address))) {
          if (retried) {
            lateAt = now()
            cpuAfter = totalCpuMs(pids)
          }
          break
        }
        if (now() > deadline)
          throw new Error(`mesh not formed in ${meshTimeoutMs / 1000} s: node :${port} lists too few`)
        await sleep(config.pollMs)
      }
    }
  } finally {
    await probe.close()
  }
  // What the nodes spent forming the mesh (from the last one listening): a figure load barely moves.
  const cpuMs = cpuBefore === undefined || cpuAfter === undefined ? undefined : cpuAfter - cpuBefore
  return lateAt === undefined ? { formedAt, method: "tcp", cpuMs } : { formedAt: lateAt, method: "probe", cpuMs }
}
