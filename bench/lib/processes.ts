import { type ChildProcess, spawn } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { connect } from "node:net"
import { tmpdir } from "node:os"
import { basename, join, resolve } from "node:path"
import { now, sleep } from "./time.js"

/**
 * What the bench compares: our node (`ours`; `ours@<ref>` is another build of it, --compare-ref), the
 * plain starter-kit-style baseline (`baseline`) and the same baseline with our durable pool write
 * (`durable`). Every table ratio is ours ÷ one of the others.
 */
export type ImplName = "ours" | `ours@${string}` | "baseline" | "durable"
export const implNames: ReadonlyArray<ImplName> = ["ours", "baseline", "durable"]

/** True for our node, whichever build. */
export const isOurs = (impl: ImplName): boolean => impl === "ours" || impl.startsWith("ours@")

/** The implementation's column in the table. */
export const implLabel = (impl: ImplName): string => (impl === "baseline" ? "plain" : impl)

const root = resolve(import.meta.dirname, "../..")
const bundle = join(root, "dist/main.mjs")

/** The bundle each `ours@<ref>` runs (registered by --compare-ref once it is built). */
const refBundles = new Map<ImplName, string>()
export const registerRefBundle = (impl: ImplName, file: string): void => {
  refBundles.set(impl, file)
}

export interface SpawnOptions {
  /** LOG_LEVEL for our node. */
  readonly logLevel: string
  /** Where `node --cpu-prof` writes a profile of each node when it exits, if profiling. */
  readonly profileDir: string | undefined
  /** Longest wait from spawn to listening. */
  readonly timeoutMs: number
}

/** How to start one node of an implementation on a node folder. */
const commandFor = (impl: ImplName, folder: string, options: SpawnOptions) => {
  // PORT/HOST in the bench's own environment would override the folder's .env in our node.
  const { PORT: _port, HOST: _host, LOG_FORMAT: _format, ...inherited } = process.env
  // One folder per node: the default file names carry the thread id (our node's loader hooks run in a thread).
  const profile =
    options.profileDir === undefined
      ? []
      : ["--cpu-prof", `--cpu-prof-dir=${join(options.profileDir, `${impl}-${basename(folder)}-${Date.now()}`)}`]
  const baseline = join(root, "bench/baseline/node.mjs")
  if (impl === "baseline") return { args: [...profile, baseline, folder], env: inherited }
  if (impl === "durable") return { args: [...profile, baseline, folder, "--durable"], env: inherited }
  const env = { ...inherited, LOG_LEVEL: options.logLevel }
  const refBundle = refBundles.get(impl)
  if (impl !== "ours") {
    if (refBundle === undefined) throw new Error(`${impl}: no build of that ref was made (--compare-ref)`)
    return { args: [...profile, refBundle, folder], env }
  }
  // The production start (`npm run build`, then `node dist/main.mjs`); `BENCH_OURS=tsx` runs the source,
  // `BENCH_BUNDLE=<file>` another build (an experiment) in its place.
  const args =
    process.env.BENCH_OURS === "tsx" || !existsSync(bundle)
      ? [...profile, "--import", "tsx", join(root, "src/main.ts"), folder]
      : [...profile, process.env.BENCH_BUNDLE ?? bundle, folder]
  return { args, env }
}

export const addressOf = (port: number): string => `ws://localhost:${port}`

/**
 * Whether an implementation's nodes share one connection per pair, so that a node's HANDSHAKE also
 * lists the nodes that dialled it: ours, unless SHARE_CONNECTIONS=false is passed on to them.
 */
export const sharesConnections = (impl: ImplName): boolean => isOurs(impl) && process.env.SHARE_CONNECTIONS !== "false"

export interface NodeProcess {
  readonly impl: ImplName
  readonly port: number
  readonly folder: string
  readonly pid: number
  readonly poolFile: string
  readonly spawnedAt: number
  readonly listeningAt: number
  readonly exited: () => boolean
  readonly outputTail: () => string
  /** SIGTERM, then SIGKILL after 3 s (60 s when profiling); resolves when the process has exited. */
  readonly stop: () => Promise<void>
}

const running = new Set<ChildProcess>()

/** Kills every node still running; for the bench's own exit paths. */
export const killAllNodes = (): void => {
  for (const child of running) {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
  }
}

/** True if something accepts TCP connections on localhost:port. */
export const isPortOpen = (port: number): Promise<boolean> =>
  new Promise((resolvePromise) => {
    const socket = connect({ port, host: "localhost" })
    socket.once("connect", () => {
      socket.destroy()
      resolvePromise(true)
    })
    socket.once("error", () => {
      socket.destroy()
      resolvePromise(false)
    })
  })

export const writeNodeFolder = (folder: string, port: number, knownPeers: ReadonlyArray<string>): void => {
  mkdirSync(folder, { recursive: true })
  writeFileSync(join(folder, ".env"), `PORT=${port}\nMY_PUBLIC_KEY=${"ab".repeat(32)}\n`)
  writeFileSync(join(folder, "known-peers.json"), JSON.stringify(knownPeers))
  writeFileSync(join(folder, "transactions.json"), "[]")
}

/** Spawns a node and resolves once its port accepts TCP connections (spawn → listening, on the bench clock). */
export const spawnNode = async (
  impl: ImplName,
  folder: string,
  port: number,
  options: SpawnOptions,
): Promise<NodeProcess> => {
  if (await isPortOpen(port)) throw new Error(`port ${port} is already in use: choose another --base-port`)
  const { args, env } = commandFor(impl, folder, options)
  const tail: Array<string> = []
  const spawnedAt = now()
  const child = spawn(process.execPath, args, { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] })
  running.add(child)
  child.once("exit", () => running.delete(child))
  // Always drain the pipes (a full pipe would block the node); keep the last lines for error reports.
  const keep = (chunk: Buffer) => {
    tail.push(chunk.toString())
    if (tail.length > 40) tail.shift()
  }
  child.stdout?.on("data", keep)
  child.stderr?.on("data", keep)
  const outputTail = () => tail.join("").split("\n").slice(-15).join("\n")
  const exited = () => child.exitCode !== null || child.signalCode !== null
  const deadline = spawnedAt + options.timeoutMs
  while (!(await isPortOpen(port))) {
    if (exited() || now() > deadline) {
      child.kill("SIGKILL")
      const why = exited() ? `exited with ${child.exitCode ?? child.signalCode}` : "did not listen in time"
      throw new Error(`${impl} node on port ${port} ${why}:\n${outputTail()}`)
    }
    await sleep(2)
  }
  const listeningAt = now()
  if (child.pid === undefined) throw new Error(`${impl} node on port ${port} has no pid`)
  return {
    impl,
    port,
    folder,
    pid: child.pid,
    poolFile: join(folder, "transactions.json"),
    spawnedAt,
    listeningAt,
    exited,
    outputTail,
    // Writing a CPU profile at exit takes a while.
    stop: () => stopChild(child, options.profileDir === undefined ? 3_000 : 60_000),
  }
}

const stopChild = async (child: ChildProcess, graceMs: number): Promise<void> => {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exit = new Promise<void>((resolvePromise) => child.once("exit", () => resolvePromise()))
  child.kill("SIGTERM")
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs)
  await exit
  clearTimeout(timer)
}

/** Resident set size of a process, in kB, from /proc/<pid>/status (VmRSS). */
export const readRssKb = (pid: number): number | undefined => {
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))
    return match?.[1] === undefined ? undefined : Number(match[1])
  } catch {
    return undefined
  }
}

/**
 * CPU time a process has used, in ms: the sum over its threads of /proc/<pid>/task/<tid>/schedstat
 * (nanoseconds; every thread, so the work handed to libuv's thread pool counts), or, where schedstat is
 * missing, user plus system time from /proc/<pid>/stat (10 ms resolution).
 */
export const readCpuMs = (pid: number): number | undefined => {
  try {
    let nanos = 0
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      try {
        nanos += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, "utf8").split(" ")[0])
      } catch {
        // A thread that ended between the listing and the read.
      }
    }
    if (nanos > 0) return nanos / 1e6
  } catch {
    // No such process, or no schedstat: try stat.
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    const ticks = Number(fields[11]) + Number(fields[12])
    return Number.isFinite(ticks) ? ticks * (1000 / clockTicksPerSecond) : undefined
  } catch {
    return undefined
  }
}

/** CPU time used so far by all of these processes together, in ms (undefined if one has gone). */
export const totalCpuMs = (pids: ReadonlyArray<number>): number | undefined => {
  let total = 0
  for (const pid of pids) {
    const ms = readCpuMs(pid)
    if (ms === undefined) return undefined
    total += ms
  }
  return total
}

/** USER_HZ: 100 on every Linux the bench runs on. */
const clockTicksPerSecond = 100

let workspace: string | undefined

/** A fresh folder under the bench's temporary workspace (os.tmpdir()/meshnode-bench-*). */
export const freshFolder = (name: string): string => {
  workspace ??= mkdtempSync(join(tmpdir(), "meshnode-bench-"))
  const folder = join(workspace, `${name}-${Math.random().toString(36).slice(2, 8)}`)
  mkdirSync(folder, { recursive: true })
  return folder
}

export const removeWorkspace = (): void => {
  if (workspace !== undefined) rmSync(workspace, { recursive: true, force: true })
  workspace = undefined
}
