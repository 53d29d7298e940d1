import { readCpuMs } from "../lib/processes.js"

/** CPU time a process has spent so far, in ms, every thread counted (see readCpuMs); 0 once it has gone. */
export const cpuMillis = (pid: number): number => readCpuMs(pid) ?? 0

export const median = (values: ReadonlyArray<number>): number => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN
}

export const implArgument = (value: string | undefined): "ours" | "baseline" =>
  value === "baseline" ? "baseline" : "ours"
