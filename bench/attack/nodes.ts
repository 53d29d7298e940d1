import { type ChildProcess, spawn } from "node:child_process"
import { existsSync, openSync, readFileSync, statSync, writeFileSync } from "node:fs"
import { join, resolve } from "node:path"
import { addressOf, freshFolder, isPortOpen, readRssKb, writeNodeFolder } from "../lib/processes.js"
import { now, sleep } from "../lib/time.js"
import type { BenchTransaction } from "../lib/transactions.js"

const root = resolve(import.meta.dirname, "../..")
const bundle = join(root, "dist/main.mjs")

/** One of our nodes as the attack suite runs it: its output counted (or sent to /dev/full), restartable. */
export interface AttackNode {
  readonly port: number
  readonly address: string
  readonly poolFile: string
  pid: () => number | undefined
  alive: () => boolean
  /** Bytes and lines the node wrote to stdout and stderr, over all its runs. */
  readonly output: { bytes: number; lines: number }
  /** How its runs ended that the suite did not ask for (exit code or signal). */
  readonly unexpectedExits: Array<string>
  readonly stop: () => Promise<void>
  readonly start: () => Promise<void>
  readonly rssKb: () => number | undefined
  readonly poolBytes: () => number
}

export interface NodeOptions {
  /** Send stdout and stderr to /dev/full (every write fails with ENOSPC). */
  readonly fullDisk?: boolean
  /** Transactions in the pool file before the first start. */
  readonly pool?: ReadonlyArray<BenchTransaction>
}

const commandArgs = (folder: string): Array<string> =>
  process.env.BENCH_OURS === "tsx" || !existsSync(bundle)
    ? ["--import", "tsx", join(root, "src/main.ts"), folder]
    : [bundle, folder]

export const makeNode = (port: number, knownPeers: ReadonlyArray<string>, options: NodeOptions = {}): AttackNode => {
  const folder = freshFolder(`attack-${port}`)
  writeNodeFolder(folder, port, knownPeers)
  const poolFile = join(folder, "transactions.json")
  if (options.pool !== undefined) writeFileSync(poolFile, JSON.stringify(options.pool))
  const output = { bytes: 0, lines: 0 }
  const unexpectedExits: Array<string> = []
  let child: ChildProcess | undefined
  let stopping = false
  const alive = () => child !== undefined && child.exitCode === null && child.signalCode === null
  const count = (chunk: Buffer) => {
    output.bytes += chunk.length
    for (const byte of chunk) if (byte === 10) output.lines++
  }
  const start = async () => {
    const { PORT: _port, HOST: _host, LOG_FORMAT: _format, ...env } = process.env
    const full = options.fullDisk === true ? openSync("/dev/full", "w") : undefined
    const started = spawn(process.execPath, commandArgs(folder), {
      cwd: root,
      env: { ...env, LOG_LEVEL: "info" },
      stdio: ["ignore", full ?? "pipe", full ?? "pipe"],
    })
    child = started
    stopping = false
    started.stdout?.on("data", count)
    started.stderr?.on("data", count)
    started.once("exit", (code, signal) => {
      if (!stopping) unexpectedExits.push(`port ${port}: exit ${code ?? signal}`)
    })
    const deadline = now() + 30_000
    while (!(await isPortOpen(port))) {
      if (!alive() || now() > deadline) throw new Error(`node on port ${port} did not start`)
      await sleep(5)
    }
  }
  const stop = async () => {
    const running = child
    if (running === undefined || !alive()) return
    stopping = true
    const exited = new Promise<void>((done) => running.once("exit", () => done()))
    running.kill("SIGTERM")
    const timer = setTimeout(() => running.kill("SIGKILL"), 10_000)
    await exited
    clearTimeout(timer)
  }
  return {
    port,
    address: addressOf(port),
    poolFile,
    pid: () => child?.pid,
    alive,
    output,
    unexpectedExits,
    stop,
    start,
    rssKb: () => {
      const pid = child?.pid
      return pid === undefined || !alive() ? undefined : readRssKb(pid)
    },
    poolBytes: () => {
      try {
        return statSync(poolFile).size
      } catch {
        return 0
      }
    },
  }
}

/** Which of `hashes` the node's pool file holds (read as bytes: a pool of any size is searched, not parsed). */
export const hashesInPoolFile = (node: AttackNode, hashes: Iterable<string>): Set<string> => {
  const found = new Set<string>()
  let file: Buffer
  try {
    file = readFileSync(node.poolFile)
  } catch {
    return found
  }
  for (const hash of hashes) if (file.includes(hash)) found.add(hash)
  return found
}

/** Three nodes on `basePort`+1..3, each knowing node 1 and node 3 (the spec's known-peers.json). */
export const makeTrio = (basePort: number, options: (index: number) => NodeOptions = () => ({})) => {
  const ports = [basePort + 1, basePort + 2, basePort + 3]
  const known = [addressOf(basePort + 1), addressOf(basePort + 3)]
  return ports.map((port, index) => makeNode(port, known, options(index)))
}
