import { type ChildProcess, fork } from "node:child_process"
import {
  closeSync,
  fsyncSync,
  linkSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  writeFileSync,
  writevSync,
} from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { writeFileAtomic } from "../../src/layers/atomicWrite.js"
import { makeRenderedStore } from "../../src/layers/poolStore.js"
import { makeTransactions } from "../lib/transactions.js"
import { cpuMillis, median } from "./cpu.js"

/**
 * `npx tsx bench/tools/pool-write.ts [writers] [rounds]`: three ways to rewrite a growing
 * transactions.json, each in `writers` processes at once (default 10, as the N=10 propagation run),
 * one transaction more per round (default 300), while two processes read the files in turn and count
 * the reads that are not a JSON array: one reads each file at once, the other 4 kB at a time, 1 ms
 * apart (a pager, a streaming parser), so it holds each file open across writes:
 * - `in place`: the baseline's `writeFileSync` over the file;
 * - `atomic`: ours (src/layers/poolFile.ts): a temporary file, fsync, rename over the pool;
 * - `reuse`: a rejected alternative, kept here as the measurement behind the decision: two files'
 *   inodes take turns, the spare is overwritten in place, fsynced and renamed over the pool (the old
 *   pool kept as the next spare by a hard link), so no file is created or freed per write.
 * Prints per method the write's time (median), the slowest writer's per round (median, p99), the CPU
 * per write of all writers, and each reader's invalid reads. Env GAP: ms between rounds (default 2).
 */

type Method = "in place" | "atomic" | "reuse"
const methods: ReadonlyArray<Method> = ["in place", "atomic", "reuse"]

interface Done {
  readonly start: number
  readonly end: number
}
interface ReadCount {
  readonly reads: number
  readonly invalid: number
}

/** Wall-clock time in ms with µs precision, the same clock in every process. */
const clock = () => performance.timeOrigin + performance.now()

const script = fileURLToPath(import.meta.url)
const [role, ...rest] = process.argv.slice(2)

const writeParts = (descriptor: number, parts: ReadonlyArray<Uint8Array>, position: number) => {
  let offset = position
  for (const part of parts) {
    let written = 0
    while (written < part.byteLength) written += writevSync(descriptor, [part.subarray(written)], offset + written)
    offset += part.byteLength
  }
}

/** The rejected way: write the spare inode in place, fsync, and swap it in by name. */
const makeReuseWriter = (pool: string) => {
  const spareName = `${pool}.spare`
  const swapName = `${pool}.swap`
  writeFileSync(spareName, "[]")
  let spare = openSync(spareName, "r+")
  let current = openSync(pool, "r+")
  return (parts: ReadonlyArray<Uint8Array>) => {
    // The pool only grows, so the new content covers every byte of the older one in the spare.
    writeParts(spare, parts, 0)
    fsyncSync(spare)
    linkSync(pool, swapName)
    renameSync(spareName, pool)
    renameSync(swapName, spareName)
    ;[spare, current] = [current, spare]
  }
}

const runWriter = (method: Method, folder: string) => {
  const pool = join(folder, "transactions.json")
  writeFileSync(pool, "[]")
  const rendered = makeRenderedStore()
  const reuse = method === "reuse" ? makeReuseWriter(pool) : undefined
  const write = (done: () => void) => {
    const parts = rendered.file()
    if (method === "in place") {
      writeFileSync(pool, Buffer.concat(parts))
      return done()
    }
    if (reuse !== undefined) {
      reuse(parts)
      return done()
    }
    writeFileAtomic(pool, parts, (error) => {
      if (error !== undefined) throw new Error(error.message)
      done()
    })
  }
  process.on("message", (message) => {
    if (message === "stop") process.exit(0)
    for (const tx of makeTransactions(1)) rendered.append(tx)
    const start = clock()
    write(() => process.send?.({ start, end: clock() } satisfies Done))
  })
  process.send?.("ready")
}

/** Reads the whole file at once, as `JSON.parse(readFileSync(…))` does. */
const readAtOnce = (file: string, done: (text: string | undefined) => void) => {
  try {
    done(readFileSync(file, "utf8"))
  } catch {
    done(undefined)
  }
}

/** Reads the file 4 kB at a time with a 1 ms pause between reads, as a pager or a streaming parser may. */
const readSlowly = (file: string, done: (text: string | undefined) => void) => {
  let descriptor: number
  try {
    descriptor = openSync(file, "r")
  } catch {
    return done(undefined)
  }
  const chunks: Array<Buffer> = []
  const next = () => {
    const chunk = Buffer.alloc(4096)
    const length = readSync(descriptor, chunk, 0, chunk.length, null)
    if (length === 0) {
      closeSync(descriptor)
      return done(Buffer.concat(chunks).toString("utf8"))
    }
    chunks.push(chunk.subarray(0, length))
    setTimeout(next, 1)
  }
  next()
}

const runReader = (pace: string, files: ReadonlyArray<string>) => {
  const read = pace === "slow" ? readSlowly : readAtOnce
  let reads = 0
  let invalid = 0
  let stopping = false
  process.on("message", () => {
    stopping = true
  })
  const readFile = (index: number) => {
    if (stopping) return process.send?.({ reads, invalid } satisfies ReadCount, () => process.exit(0))
    const file = files[index % files.length] ?? ""
    read(file, (text) => {
      reads++
      try {
        if (text === undefined || !Array.isArray(JSON.parse(text))) invalid++
      } catch {
        invalid++
      }
      // A turn of the event loop now and then, so the stop message is seen.
      if (reads % 50 === 0) setImmediate(readFile, index + 1)
      else readFile(index + 1)
    })
  }
  process.send?.("ready")
  readFile(0)
}

const spawnChild = (args: ReadonlyArray<string>): Promise<ChildProcess> =>
  new Promise((resolve, reject) => {
    const child = fork(script, [...args], { execArgv: ["--import", "tsx"] })
    child.once("message", () => resolve(child))
    child.once("error", reject)
  })

const nextMessage = <A>(child: ChildProcess): Promise<A> =>
  new Promise((resolve) => child.once("message", (message) => resolve(message as A)))

const percentileOf = (values: ReadonlyArray<number>, p: number) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN
}

const measure = async (method: Method, writerCount: number, rounds: number, gapMillis: number) => {
  const folders = Array.from({ length: writerCount }, () => mkdtempSync(join(tmpdir(), "pool-write-")))
  const writers = await Promise.all(folders.map((folder) => spawnChild(["writer", method, folder])))
  const files = folders.map((folder) => join(folder, "transactions.json"))
  const readers = await Promise.all(["fast", "slow"].map((pace) => spawnChild(["reader", pace, ...files])))
  const pids = writers.flatMap((writer) => (writer.pid === undefined ? [] : [writer.pid]))
  const cpuBefore = pids.map(cpuMillis)
  const writeTimes: Array<number> = []
  const slowest: Array<number> = []
  for (let round = 0; round < rounds; round++) {
    const sentAt = clock()
    const done = await Promise.all(
      writers.map((writer) => {
        const reply = nextMessage<Done>(writer)
        writer.send("go")
        return reply
      }),
    )
    for (const { start, end } of done) writeTimes.push(end - start)
    slowest.push(Math.max(...done.map(({ end }) => end)) - sentAt)
    await new Promise((resolve) => setTimeout(resolve, gapMillis))
  }
  const cpuPerWrite =
    (pids.reduce((sum, pid, i) => sum + cpuMillis(pid) - (cpuBefore[i] ?? 0), 0) * 1000) / writeTimes.length
  const counts = await Promise.all(
    readers.map((reader) => {
      const reply = nextMessage<ReadCount>(reader)
      reader.send("stop")
      return reply
    }),
  )
  for (const writer of writers) writer.send("stop")
  await Promise.all(writers.map((writer) => new Promise((resolve) => writer.once("exit", resolve))))
  for (const folder of folders) rmSync(folder, { recursive: true, force: true })
  return {
    method,
    writeMs: median(writeTimes),
    slowestMs: median(slowest),
    slowestP99Ms: percentileOf(slowest, 99),
    cpuPerWriteMicros: cpuPerWrite,
    fast: counts[0],
    slow: counts[1],
  }
}

if (role === "writer") runWriter(rest[0] as Method, rest[1] ?? ".")
else if (role === "reader") runReader(rest[0] ?? "fast", rest.slice(1))
else {
  const writerCount = Number(role ?? 10)
  const rounds = Number(rest[0] ?? 300)
  const gapMillis = Number(process.env.GAP ?? 2)
  console.log(`${writerCount} writers, ${rounds} rounds, ${gapMillis} ms apart; a fast and a slow reader`)
  console.log(
    "| method | write (ms) | slowest writer p50 (ms) | p99 (ms) | CPU per write (µs) | invalid reads, fast | invalid reads, slow |",
  )
  console.log("|---|---:|---:|---:|---:|---:|---:|")
  const share = (count: ReadCount | undefined) => (count === undefined ? "?" : `${count.invalid} of ${count.reads}`)
  for (const method of methods) {
    const r = await measure(method, writerCount, rounds, gapMillis)
    console.log(
      `| ${r.method} | ${r.writeMs.toFixed(2)} | ${r.slowestMs.toFixed(2)} | ${r.slowestP99Ms.toFixed(2)} | ${r.cpuPerWriteMicros.toFixed(0)} | ${share(r.fast)} | ${share(r.slow)} |`,
    )
  }
}
