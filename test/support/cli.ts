import { type ChildProcess, spawn } from "node:child_process"
import { join } from "node:path"
import { createInterface } from "node:readline"
import type { NodeStatus } from "../../src/domain/NodeStatus.js"
import { repoRoot } from "./processes.js"

export const cliScript = join(repoRoot, "src/cli/main.ts")

export interface CliResult {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Runs `meshnode <args>` (src/cli/main.ts under tsx) to completion; rejects after `timeoutMs`. */
export const runCli = (
  args: ReadonlyArray<string>,
  env: Record<string, string> = {},
  timeoutMs = 60_000,
  script = cliScript,
): Promise<CliResult> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", script, ...args], {
      cwd: repoRoot,
      env: { ...process.env, NO_COLOR: "1", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString()
    })
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString()
    })
    const timer = setTimeout(() => {
      child.kill("SIGKILL")
      reject(new Error(`meshnode ${args.join(" ")} did not finish in ${timeoutMs} ms:\n${stdout}\n${stderr}`))
    }, timeoutMs)
    child.once("exit", (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })

/** A long-running `meshnode <args>` (e.g. `network`) whose output lines a test can wait for. */
export const startCli = (args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  startCommand(process.execPath, ["--import", "tsx", cliScript, ...args], env)

/**
 * A long-running command run from the repository's root, whose output lines a test can wait for.
 * `group`: in a process group of its own, as a terminal runs it, so `stop` can signal the whole group
 * the way Ctrl-C does.
 */
export const startCommand = (
  command: string,
  args: ReadonlyArray<string>,
  env: Record<string, string> = {},
  group = false,
) => {
  const child: ChildProcess = spawn(command, args, {
    cwd: repoRoot,
    env: { ...process.env, NO_COLOR: "1", ...env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: group,
  })
  const lines: Array<string> = []
  const waiters = new Set<{ test: (line: string) => boolean; resolve: (line: string) => void }>()
  const onLine = (line: string) => {
    lines.push(line)
    for (const waiter of waiters) {
      if (waiter.test(line)) {
        waiters.delete(waiter)
        waiter.resolve(line)
      }
    }
  }
  if (child.stdout) createInterface({ input: child.stdout }).on("line", onLine)
  if (child.stderr) createInterface({ input: child.stderr }).on("line", onLine)
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  )
  const waitForLine = (test: (line: string) => boolean, timeoutMs = 60_000) =>
    new Promise<string>((resolve, reject) => {
      const seen = lines.find(test)
      if (seen !== undefined) return resolve(seen)
      const timer = setTimeout(() => {
        waiters.delete(waiter)
        reject(
          new Error(`timed out after ${timeoutMs} ms waiting for a line of ${args.join(" ")}:\n${lines.join("\n")}`),
        )
      }, timeoutMs)
      const waiter = {
        test,
        resolve: (line: string) => {
          clearTimeout(timer)
          resolve(line)
        },
      }
      waiters.add(waiter)
    })
  const stop = (signal: NodeJS.Signals = "SIGINT") => {
    if (child.exitCode === null && child.signalCode === null) {
      if (group && child.pid !== undefined) process.kill(-child.pid, signal)
      else child.kill(signal)
    }
    return exited
  }
  return { child, lines, waitForLine, exited, stop }
}

/** GET /status of the node on `port`, or undefined if it does not answer. */
export const getStatus = async (port: number): Promise<NodeStatus | undefined> => {
  try {
    const response = await fetch(`http://localhost:${port}/status`, { signal: AbortSignal.timeout(2_000) })
    return response.ok ? ((await response.json()) as NodeStatus) : undefined
  } catch {
    return undefined
  }
}
