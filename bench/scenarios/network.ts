import { type Cluster, startCluster } from "../lib/cluster.js"
import type { FigureSpec } from "../lib/results.js"
import { clusterOptions, type ScenarioContext, timeMeshFormation, waitForFullMesh } from "./context.js"
import { measureIngest, recordIngestFailure } from "./ingest.js"
import { latencySpecs, measureLatency } from "./latency.js"

/**
 * (6) start → listening, (1) mesh formation and (2) propagation latency, on one fresh cluster per size
 * (and `meshSamples - 1` more for the mesh figures alone):
 * node 1 is started alone (its spawn → listening is the start-up figure), then the others at once;
 * the mesh is timed from the moment every port accepts connections until every node is connected to
 * every other (see timeMeshFormation: /proc TCP state, then checked with the spec's HANDSHAKE probe);
 * the latency samples follow on the formed mesh, whose pools are still empty.
 */
export const runNetwork = async (context: ScenarioContext): Promise<void> => {
  const { impl, config } = context
  const wanted = config.only
  const sizes = [
    ...new Set([
      ...(wanted.has("mesh") ? config.meshSizes : wanted.has("startup") ? [3] : []),
      ...(wanted.has("latency") ? config.latencySizes : []),
      ...(config.shareClusters && wanted.has("ingest") ? [3] : []),
    ]),
  ].sort((a, b) => a - b)
  for (const size of sizes) {
    const meshSpec: FigureSpec = {
      id: `mesh-${size}`,
      scenario: "mesh",
      label: `mesh formation, N=${size} (ms)`,
      unit: "ms",
      better: "lower",
    }
    const meshCpuSpec: FigureSpec = {
      id: `mesh-${size}-cpu`,
      scenario: "mesh",
      label: `mesh formation, N=${size}: CPU, all nodes (ms)`,
      unit: "ms",
      better: "lower",
    }
    const measureMesh = wanted.has("mesh") && config.meshSizes.includes(size)
    const measureLatencyHere = wanted.has("latency") && config.latencySizes.includes(size)
    const ingestHere = config.shareClusters && wanted.has("ingest") && size === 3
    let cluster: Cluster | undefined
    try {
      cluster = await startCluster(impl, size, clusterOptions(config))
      recordStartup(context, cluster)
      if (measureMesh) {
        await recordMesh(context, cluster, meshSpec, meshCpuSpec)
      } else {
        const { missing } = await waitForFullMesh(cluster, config)
        if (missing !== undefined) throw new Error(missing)
      }
      if (measureLatencyHere) await measureLatency(context, cluster)
      if (ingestHere) for (const count of config.ingestCounts) await measureIngest(context, cluster, count)
    } catch (error) {
      const detail = recordFailure(context, size, error, [
        ...(measureMesh ? [meshSpec, meshCpuSpec] : []),
        ...(measureLatencyHere ? latencySpecs(size) : []),
      ])
      if (ingestHere) for (const count of config.ingestCounts) recordIngestFailure(context, count, detail)
    } finally {
      await cluster?.stop()
    }
    // More formations, each on a fresh cluster: one is a single sample, and it moves a lot from run to run.
    for (let sample = 1; measureMesh && sample < config.meshSamples; sample++) {
      let extra: Cluster | undefined
      try {
        extra = await startCluster(impl, size, clusterOptions(config))
        recordStartup(context, extra)
        await recordMesh(context, extra, meshSpec, meshCpuSpec)
      } catch (error) {
        recordFailure(context, size, error, [meshSpec, meshCpuSpec])
      } finally {
        await extra?.stop()
      }
    }
  }
}

/** Logs why a cluster of `size` failed and marks `specs` failed in this run; answers the reason. */
const recordFailure = (
  { record, log }: ScenarioContext,
  size: number,
  error: unknown,
  specs: ReadonlyArray<FigureSpec>,
): string => {
  const detail = error instanceof Error ? error.message : String(error)
  log(`N=${size}: failed: ${detail}`)
  for (const spec of specs) record(spec, { value: undefined, problem: { kind: "failed", detail } })
  return detail
}

/** (1) Times one mesh formation on `cluster` and records it with the CPU it cost. */
const recordMesh = async (
  { config, record, log }: ScenarioContext,
  cluster: Cluster,
  meshSpec: FigureSpec,
  meshCpuSpec: FigureSpec,
): Promise<void> => {
  const { formedAt, method, cpuMs } = await timeMeshFormation(cluster, config)
  const millis = formedAt - cluster.allListeningAt
  record(meshSpec, { value: millis, note: method === "tcp" ? "seen in /proc TCP state" : "confirmed by probe" })
  record(meshCpuSpec, { value: cpuMs })
  log(
    `N=${cluster.nodes.length}: mesh formed ${millis.toFixed(1)} ms after the last node listened (seen by ${method}), CPU ${cpuMs?.toFixed(0) ?? "?"} ms`,
  )
}

const recordStartup = ({ record, log }: ScenarioContext, cluster: Cluster): void => {
  const [first, ...others] = cluster.nodes
  if (first === undefined) return
  const solo = first.listeningAt - first.spawnedAt
  record(
    { id: "startup", scenario: "startup", label: "start → listening, one node (ms)", unit: "ms", better: "lower" },
    {
      value: solo,
    },
  )
  if (others.length < 9) return
  const together =
    Math.max(...others.map((node) => node.listeningAt)) - Math.min(...others.map((node) => node.spawnedAt))
  record(
    {
      id: `startup-together-${others.length}`,
      scenario: "startup",
      label: `start → listening, ${others.length} started together, slowest (ms)`,
      unit: "ms",
      better: "lower",
    },
    { value: together },
  )
  log(
    `N=${cluster.nodes.length}: node 1 listening after ${solo.toFixed(0)} ms, the other ${others.length} after ${together.toFixed(0)} ms`,
  )
}
