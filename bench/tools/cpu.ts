import { type ClusterOptions, startCluster } from "../lib/cluster.js"
import { type ImplName, readCpuMs } from "../lib/processes.js"

/** CPU time a process has spent so far, in ms, every thread counted (see readCpuMs); 0 once it has gone. */
export const cpuMillis = (pid: number): number => readCpuMs(pid) ?? 0

export const median = (values: ReadonlyArray<number>): number => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN
}

export const implArgument = (value: string | undefined): "ours" | "baseline" | "durable" =>
  value === "baseline" || value === "durable" ? value : "ours"

/** What every probe starts its nodes with: ports from BASE_PORT (default 6500), quiet logs, PROF for --cpu-prof. */
export const probeClusterOptions: ClusterOptions = {
  basePort: Number(process.env.BASE_PORT ?? 6500),
  logLevel: "warn",
  timeoutMs: 60_000,
  profileDir: process.env.PROF,
}

/** A cluster of `size` nodes for a probe. */
export const startProbeCluster = (impl: ImplName, size: number) => startCluster(impl, size, probeClusterOptions)
