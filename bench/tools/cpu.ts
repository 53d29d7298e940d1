import { readdirSync, readFileSync } from "node:fs"

/**
 * CPU time a process has spent so far, in ms: the sum over its threads of /proc/<pid>/task/<tid>/schedstat
 * (nanosecond resolution). Every thread counts: /proc/<pid>/schedstat alone is the main thread's, and
 * would miss the work a node hands to libuv's thread pool (fsync, rename).
 */
export const cpuMillis = (pid: number): number => {
  let nanos = 0
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    try {
      nanos += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, "utf8").split(" ")[0])
    } catch {
      // A thread that ended between the listing and the read.
    }
  }
  return nanos / 1e6
}

export const median = (values: ReadonlyArray<number>): number => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN
}

export const implArgument = (value: string | undefined): "ours" | "baseline" =>
  value === "baseline" ? "baseline" : "ours"
