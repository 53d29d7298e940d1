import { type ChildProcess, spawn } from "node:child_process"
import { createHash } from "node:crypto"
import { copyFile, mkdir, mkdtemp, rename, rm, stat, writeFile } from "node:fs/promises"
import { createServer, type Server } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { WebSocket } from "ws"

/**
 * The build's training run: starts 3 nodes from the fresh bundle in a temp folder, lets them form a
 * mesh, sends them transactions and stops them with SIGINT, each writing a V8 code cache on exit
 * (`MESHNODE_CODE_CACHE_WRITE`). The largest cache (the node that compiled the most) becomes
 * `<outdir>/main.cjs.cache`. Takes a few seconds; throws, after stopping the nodes, if anything fails.
 */
const nodeCount = 3
const transactionCount = 300
const batchSize = 50
const deadlineMillis = 30_000

/** Ports the spec (4001-4099) and the bench (6000-6999 by default) use are never taken. */
const reserved = (port: number) => (port >= 4001 && port <= 4099) || (port >= 6000 && port <= 6999)

/** `count` distinct free ports: all bound to port 0 at once so none repeats, then released. */
const freePorts = async (count: number): Promise<Array<number>> => {
  const servers: Array<Server> = []
  const ports: Array<number> = []
  try {
    while (ports.length < count) {
      const server = createServer()
      servers.push(server)
      const port = await new Promise<number>((resolve, reject) => {
        server.once("error", reject)
        server.listen(0, "localhost", () => {
          const address = server.address()
          resolve(typeof address === "object" && address !== null ? address.port : 0)
        })
      })
      if (port > 0 && !reserved(port)) ports.push(port)
    }
  } finally {
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))))
  }
  return ports
}

/** Repeats `check` every 20 ms until it returns true; fails at the deadline or once `failed` says why. */
const poll = async (
  what: string,
  deadline: number,
  failed: () => string | undefined,
  check: () => Promise<boolean>,
): Promise<void> => {
  while (!(await check().catch(() => false))) {
    const failure = failed()
    if (failure !== undefined) throw new Error(`${failure} while waiting for ${what}`)
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

interface Status {
  readonly connected: ReadonlyArray<unknown>
  readonly pool: { readonly size: number }
}
const status = async (port: number): Promise<Status> =>
  (await (await fetch(`http://localhost:${port}/status`)).json()) as Status

const transactionFrames = (count: number, key: string): Array<string> =>
  Array.from({ length: count }, (_, index) => {
    const amount = (index % 100) + 1
    const timeStamp = Date.now() + index
    const hash = createHash("sha256").update(`null${key}${amount}${timeStamp}`).digest("hex")
    return JSON.stringify({ type: "TRANSACTION", data: { fromAddress: null, toAddress: key, amount, timeStamp, hash } })
  })

export const trainCodeCache = async (outdir: string): Promise<string> => {
  const deadline = Date.now() + deadlineMillis
  const work = await mkdtemp(join(tmpdir(), "meshnode-code-cache-"))
  const children: Array<{ child: ChildProcess; exited: Promise<number | null>; stderr: Array<string> }> = []
  try {
    const died = () => {
      const index = children.findIndex(({ child }) => child.exitCode !== null || child.signalCode !== null)
      const dead = children[index]
      return dead === undefined ? undefined : `node ${index + 1} exited (${dead.stderr.join("").trim().slice(-300)})`
    }
    const ports = await freePorts(nodeCount)
    const key = "ca".repeat(32)
    // Not the build's environment: a PORT, MAX_PEERS or LOG_LEVEL there would override the folders' .env
    // or change what runs. NODE_OPTIONS stays, since V8 flags decide whether the cache is accepted.
    const { NODE_OPTIONS } = process.env
    const start = async (index: number, port: number) => {
      const folder = join(work, `node-${index + 1}`)
      await mkdir(folder)
      await writeFile(join(folder, ".env"), `PORT=${port}\nMY_PUBLIC_KEY=${key}\n`)
      // Every node knows node 1; they learn of each other from it, as a spec network grows.
      await writeFile(join(folder, "known-peers.json"), JSON.stringify([`ws://localhost:${ports[0]}`]))
      await writeFile(join(folder, "transactions.json"), "[]")
      const child = spawn(process.execPath, [join(outdir, "main.mjs"), folder], {
        env: {
          ...(NODE_OPTIONS === undefined ? {} : { NODE_OPTIONS }),
          MESHNODE_CODE_CACHE: "off",
          MESHNODE_CODE_CACHE_WRITE: join(work, `cache-${index + 1}`),
        },
        stdio: ["ignore", "ignore", "pipe"],
      })
      const stderr: Array<string> = []
      child.stderr?.on("data", (chunk) => stderr.push(String(chunk)))
      const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)))
      children.push({ child, exited, stderr })
      await poll(
        `node ${index + 1} to listen`,
        deadline,
        died,
        async () => (await status(port)).connected !== undefined,
      )
    }
    const [first = 0, ...others] = ports
    await start(0, first)
    await Promise.all(others.map((port, index) => start(index + 1, port)))
    await poll("the mesh", deadline, died, async () =>
      (await Promise.all(ports.map(status))).every((s) => s.connected.length >= nodeCount - 1),
    )

    // Transactions into node 1 in batches, each until every pool holds it: the gossip path end to end.
    const socket = new WebSocket(`ws://localhost:${first}`)
    await new Promise((resolve, reject) => {
      socket.once("open", resolve)
      socket.once("error", reject)
    })
    const frames = transactionFrames(transactionCount, key)
    for (let sent = 0; sent < frames.length; sent += batchSize) {
      for (const frame of frames.slice(sent, sent + batchSize)) socket.send(frame)
      const expected = Math.min(sent + batchSize, frames.length)
      await poll("the transactions in every pool", deadline, died, async () =>
        (await Promise.all(ports.map(status))).every((s) => s.pool.size >= expected),
      )
    }
    socket.close()
    await Promise.all(
      ports.map((port) => fetch(`http://localhost:${port}/metrics`).then((response) => response.text())),
    )

    // SIGINT: each node shuts down, flushes, exits 0 and writes its cache.
    for (const { child } of children) child.kill("SIGINT")
    let timer: NodeJS.Timeout | undefined
    const codes = await Promise.race([
      Promise.all(children.map(({ exited }) => exited)),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error("nodes did not exit after SIGINT")),
          Math.max(0, deadline - Date.now()),
        )
      }),
    ]).finally(() => clearTimeout(timer))
    codes.forEach((code, index) => {
      if (code !== 0)
        throw new Error(`node ${index + 1} exited with ${code}: ${children[index]?.stderr.join("").trim()}`)
    })
    const sizes = await Promise.all(
      children.map((_, index) => stat(join(work, `cache-${index + 1}`)).then((s) => s.size)),
    )
    const largest = sizes.indexOf(Math.max(...sizes))
    const target = join(outdir, "main.cjs.cache")
    // The temp folder may be on another filesystem: copy beside the target, then rename atomically.
    const temp = `${target}.tmp-${process.pid}`
    await copyFile(join(work, `cache-${largest + 1}`), temp)
    await rename(temp, target)
    return target
  } finally {
    for (const { child } of children) {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
    }
    await rm(work, { recursive: true, force: true })
  }
}
