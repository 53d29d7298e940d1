import type { Cluster, ClusterOptions } from "../lib/cluster.js"
import type { BenchConfig } from "../lib/config.js"
import { type MeshResult, waitForMesh } from "../lib/probe.js"
import { addressOf, type ImplName } from "../lib/processes.js"
import type { FigureSpec, Sample } from "../lib/results.js"

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
  startTimeoutMs: 60_000,
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
