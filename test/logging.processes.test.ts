import { type ChildProcess, type StdioOptions, spawn } from "node:child_process"
import { closeSync, openSync } from "node:fs"
import { join } from "node:path"
import { createInterface } from "node:readline"
import { afterEach, describe, expect, it } from "vitest"
import WebSocket from "ws"
import { makeTransaction } from "../src/domain/Transaction.js"
import { freePort } from "./support/freePort.js"
import { eventually, makeNodesDir, readPool, repoRoot, writeNodeFolder } from "./support/processes.js"

/**
 * What an operator's log pipeline sees: which stream each level goes to, the shape of JSON lines,
 * and a node whose stdout cannot be written (a closed pipe, a full disk) that keeps running.
 */
const mainScript = join(repoRoot, "src/main.ts")
const running = new Set<ChildProcess>()

afterEach(() => {
  for (const child of running) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
  running.clear()
})

const startNode = (folder: string, stdio: StdioOptions, env: Record<string, string> = {}) => {
  const child = spawn(process.execPath, ["--import", "tsx", mainScript, folder], {
    cwd: repoRoot,
    env: { ...process.env, LOG_FORMAT: "json", LOG_LEVEL: "debug", ...env },
    stdio,
  })
  running.add(child)
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  )
  return { child, exited }
}

const linesOf = (stream: NodeJS.ReadableStream | null): Array<string> => {
  const lines: Array<string> = []
  if (stream !== null) createInterface({ input: stream }).on("line", (line) => lines.push(line))
  return lines
}

const get = async (port: number, path: string): Promise<string | undefined> => {
  try {
    const response = await fetch(`http://127.0.0.1:${port}${path}`)
    return response.ok ? await response.text() : undefined
  } catch {
    return undefined
  }
}

/** Sends one TRANSACTION to the node as a peer would; the socket stays open until `close`. */
const sendTransaction = async (port: number) => {
  const tx = makeTransaction({ fromAddress: null, toAddress: "04abcdef", amount: 5, timeStamp: Date.now() })
  const socket = new WebSocket(`ws://127.0.0.1:${port}`)
  await new Promise<void>((resolve, reject) => {
    socket.once("open", () => resolve())
    socket.once("error", reject)
  })
  socket.send(JSON.stringify({ type: "TRANSACTION", data: tx }))
  return { tx, close: () => socket.close() }
}

const metric = (text: string | undefined, name: string): number | undefined => {
  const line = text?.split("\n").find((l) => l.startsWith(`${name} `))
  return line === undefined ? undefined : Number(line.slice(name.length + 1))
}

describe("where log lines go", () => {
  it("INFO and DEBUG go to stdout, WARN and ERROR to stderr; every JSON message is a string", async () => {
    const nodesDir = await makeNodesDir()
    const port = await freePort()
    // A known peer that is not an address: refused with a warning at start, the node starts anyway.
    const folder = await writeNodeFolder(nodesDir, "node", { port, knownPeers: ["not an address"] })
    const { child, exited } = startNode(folder, ["ignore", "pipe", "pipe"])
    const stdout = linesOf(child.stdout)
    const stderr = linesOf(child.stderr)
    await eventually(
      () => (stdout.some((line) => line.includes('"listening"')) ? true : undefined),
      60_000,
      "listening",
    )
    child.kill("SIGTERM")
    expect((await exited).code).toBe(0)

    const parse = (line: string) => JSON.parse(line) as { message: unknown; logLevel: string }
    const out = stdout.map(parse)
    const err = stderr.map(parse)
    expect(err.map((line) => [line.logLevel, line.message])).toContainEqual(["WARN", "known peer refused"])
    expect(out.map((line) => line.message)).toEqual(expect.arrayContaining(["listening", "stopping", "stopped"]))
    expect(new Set(out.map((line) => line.logLevel))).toEqual(new Set(["INFO", "DEBUG"]))
    for (const line of err) expect(["WARN", "ERROR", "FATAL"]).toContain(line.logLevel)
    for (const line of [...out, ...err]) expect(typeof line.message).toBe("string")
  })
})

describe("a node whose log cannot be written keeps running", () => {
  /**
   * Starts a node with `stdio`, and checks that it serves, accepts a transaction into its pool file,
   * counts the log lines it could not write, and stops cleanly with the transaction on disk.
   */
  const keepsRunning = async (stdio: (port: number) => StdioOptions, after?: () => void) => {
    const nodesDir = await makeNodesDir()
    const port = await freePort()
    const folder = await writeNodeFolder(nodesDir, "node", { port, knownPeers: [] })
    const { child, exited } = startNode(folder, stdio(port))
    after?.()
    if (child.stdout !== null) child.stdout.destroy()
    const stderr = linesOf(child.stderr)
    await eventually(() => get(port, "/status"), 60_000, "the node to answer /status")
    const { tx, close } = await sendTransaction(port)
    await eventually(
      async () => ((await readPool(folder)).some((entry) => entry.hash === tx.hash) ? true : undefined),
      30_000,
      "the transaction in the pool file",
    ).finally(close)
    const dropped = await eventually(
      async () => {
        const value = metric(await get(port, "/metrics"), "meshnode_log_lines_dropped_total")
        return value !== undefined && value > 0 ? value : undefined
      },
      30_000,
      "dropped log lines to be counted",
    )
    expect(dropped).toBeGreaterThan(0)
    expect(child.exitCode).toBeNull()
    child.kill("SIGTERM")
    expect(await exited).toEqual({ code: 0, signal: null })
    expect((await readPool(folder)).map((entry) => entry.hash)).toEqual([tx.hash])
    return stderr
  }

  it("stdout is a pipe whose reader has gone (EPIPE)", async () => {
    const stderr = await keepsRunning(() => ["ignore", "pipe", "pipe"])
    // Nothing about the broken pipe is said as a crash: the node's warnings still reach stderr.
    expect(stderr.join("\n")).not.toContain("EPIPE")
  })

  it("stdout and stderr are on a full disk (/dev/full: ENOSPC)", async () => {
    const full = openSync("/dev/full", "w")
    await keepsRunning(
      () => ["ignore", full, full],
      () => closeSync(full),
    )
  })
})
