import { readFileSync } from "node:fs"

/** CPU time a process has spent so far, in ms (/proc/<pid>/schedstat: nanosecond resolution). */
export const cpuMillis = (pid: number): number =>
  Number(readFileSync(`/proc/${pid}/schedstat`, "utf8").split(" ")[0]) / 1e6

export const median = (values: ReadonlyArray<number>): number => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN
}

export const implArgument = (value: string | undefined): "ours" | "baseline" =>
  value === "baseline" ? "baseline" : "ours"
