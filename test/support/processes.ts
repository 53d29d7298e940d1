import { type ChildProcess, spawn } from "node:child_process"
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { createInterface } from "node:readline"
import { afterAll } from "vitest"

export const repoRoot = resolve(import.meta.dirname, "../..")
const mainScript = join(repoRoot, "src/main.ts")

/** A temporary folder for node folders; each test makes its own. */
export const makeNodesDir = () => mkdtemp(join(tmpdir(), "meshnode-test-"))

/** Writes a node folder the way clone-node does: .env, known-peers.json and an empty pool. */
export const writeNodeFolder = async (
  nodesDir: string,
  name: string,
  options: { port: number; knownPeers: ReadonlyArray<string>; env?: Record<string, string> },
) => {
  const folder = join(nodesDir, name)
  await mkdir(folder, { recursive: true })
  const env = { PORT: String(options.port), MY_PUBLIC_KEY: "04ab", ...options.env }
  await writeFile(
    join(folder, ".env"),
    `${Object.entries(env)
      .map(([key, value]) => `${key}=${value}`)
      .join("\n")}\n`,
  )
  await writeFile(join(folder, "known-peers.json"), JSON.stringify(options.knownPeers))
  await writeFile(join(folder, "transactions.json"), "[]")
  return folder
}

/** A JSON log line of a node (`LOG_FORMAT=json`). */
export interface LogLine {
  readonly message: unknown
  readonly logLevel: string
  readonly annotations: Record<string, unknown>
}

/** A node running as its own process, as `tsx src/main.ts <folder>` runs it. */
export interface NodeProcess {
  readonly child: ChildProcess
  readonly folder: string
  readonly lines: Array<LogLine>
  readonly output: Array<string>
  /** Resolves with the first log line that matches, now or later; rejects after `timeoutMs`. */
  readonly waitForLog: (predicate: (line: LogLine) => boolean, timeoutMs?: number) => Promise<LogLine>
  /** Resolves with the exit code (or signal) once the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  readonly stop: (signal?: NodeJS.Signals) => Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

export const messageText = (line: LogLine): string =>
  Array.isArray(line.message) ? line.message.join(" ") : String(line.message)

/**
 * Starts a node process on `folder` with JSON logs, and follows its output. `prefix` runs it through
 * another command (`ip netns exec <ns>`, which replaces itself with the node: signals still reach it).
 */
export const startNodeProcess = (
  folder: string,
  env: Record<string, string> = {},
  prefix: ReadonlyArray<string> = [],
): NodeProcess => {
  const [command = process.execPath, ...args] = [...prefix, process.execPath, "--import", "tsx", mainScript, folder]
  const child = spawn(command, args, {
    cwd: repoRoot,
    env: { ...process.env, LOG_FORMAT: "json", LOG_LEVEL: "debug", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  })
  const lines: Array<LogLine> = []
  const output: Array<string> = []
  const waiters = new Set<{ predicate: (line: LogLine) => boolean; resolve: (line: LogLine) => void }>()
  const onLine = (text: string) => {
    output.push(text)
    let line: LogLine
    try {
      line = JSON.parse(text) as LogLine
    } catch {
      return
    }
    lines.push(line)
    for (const waiter of waiters) {
      if (waiter.predicate(line)) {
        waiters.delete(waiter)
        waiter.resolve(line)
      }
    }
  }
  if (child.stdout) createInterface({ input: child.stdout }).on("line", onLine)
  if (child.stderr) createInterface({ input: child.stderr }).on("line", onLine)
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit) =>
    child.once("exit", (code, signal) => resolveExit({ code, signal })),
  )
  const waitForLog = (predicate: (line: LogLine) => boolean, timeoutMs = 15_000) =>
    new Promise<LogLine>((resolveLine, reject) => {
      const seen = lines.find(predicate)
      if (seen) return resolveLine(seen)
      const waiter = {
        predicate,
        resolve: (line: LogLine) => {
          clearTimeout(timer)
          resolveLine(line)
        },
      }
      const timer = setTimeout(() => {
        waiters.delete(waiter)
        reject(new Error(`timed out after ${timeoutMs} ms waiting for a log line in ${folder}:\n${output.join("\n")}`))
      }, timeoutMs)
      waiters.add(waiter)
    })
  const stop = (signal: NodeJS.Signals = "SIGTERM") => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal)
    return exited
  }
  return { child, folder, lines, output, waitForLog, exited, stop }
}

/** Resolves once the node logs that it is listening. */
export const waitListening = (node: NodeProcess, timeoutMs = 30_000) =>
  node.waitForLog((line) => messageText(line) === "listening", timeoutMs)

/** Reads a node folder's pool file. */
export const readPool = async (folder: string): Promise<Array<{ hash: string }>> =>
  JSON.parse(await readFile(join(folder, "transactions.json"), "utf8")) as Array<{ hash: string }>

/** Polls `check` every few milliseconds until it holds, or rejects after `timeoutMs`. */
export const eventually = async <A>(
  check: () => Promise<A | undefined> | A | undefined,
  timeoutMs: number,
  what: string,
): Promise<A> => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const result = await check()
    if (result !== undefined) return result
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((wake) => setTimeout(wake, 10))
  }
}

/**
 * For a test file that starts node processes: `start` and `nodesDir` as `startNodeProcess` and
 * `makeNodesDir`, and after the file's tests every process it started is killed and every folder removed.
 */
export const cleanedUpAfterAll = () => {
  const started: Array<NodeProcess> = []
  const dirs: Array<string> = []
  afterAll(async () => {
    await Promise.all(started.map((node) => node.stop("SIGKILL")))
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })))
  })
  return {
    start: (folder: string, env: Record<string, string> = {}) => {
      const node = startNodeProcess(folder, env)
      started.push(node)
      return node
    },
    nodesDir: async () => {
      const dir = await makeNodesDir()
      dirs.push(dir)
      return dir
    },
  }
}
