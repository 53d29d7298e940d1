import { readFileSync, statSync } from "node:fs"
import { now, sleep } from "./time.js"

/**
 * Watches one node's transactions.json from the outside, as a reader of the file would: a cheap
 * stat (inode, size, mtime) tells whether it changed; only then is it read and parsed. A read that
 * is not a valid JSON array (a write caught half-way) counts as an invalid read and is retried.
 */
export class PoolWatcher {
  /** Hashes in the last valid read. */
  hashes: ReadonlySet<string> = new Set()
  /** Entries whose hash appeared earlier in the same file, in the last valid read. */
  duplicates = 0
  /** Reads that found something other than a JSON array (torn or partial writes). */
  invalidReads = 0
  size = 0
  /** When a stat first showed the current version of the file (bench clock). */
  changedAt = now()
  private statSignature = ""
  private parsedSignature = ""

  constructor(readonly file: string) {}

  /** Stats the file; true if it changed since the last stat. */
  stat(): boolean {
    let signature: string
    try {
      const stats = statSync(this.file)
      this.size = stats.size
      signature = `${stats.ino}:${stats.size}:${stats.mtimeMs}`
    } catch {
      signature = "missing"
    }
    if (signature === this.statSignature) return false
    this.statSignature = signature
    this.changedAt = now()
    return true
  }

  /** True if the current version of the file has not been parsed successfully yet. */
  get unparsed(): boolean {
    return this.statSignature !== this.parsedSignature
  }

  /** Reads and parses the current version if not done yet; false if the read was invalid. */
  parse(): boolean {
    if (!this.unparsed) return true
    const signature = this.statSignature
    let pool: unknown
    try {
      pool = JSON.parse(readFileSync(this.file, "utf8"))
    } catch {
      pool = undefined
    }
    if (!Array.isArray(pool)) {
      this.invalidReads++
      return false
    }
    const hashes = new Set<string>()
    let duplicates = 0
    for (const entry of pool) {
      const hash: unknown = typeof entry === "object" && entry !== null && "hash" in entry ? entry.hash : undefined
      if (typeof hash !== "string") continue
      if (hashes.has(hash)) duplicates++
      else hashes.add(hash)
    }
    this.hashes = hashes
    this.duplicates = duplicates
    this.parsedSignature = signature
    return true
  }

  /** Stat, then parse if changed. */
  refresh(): void {
    this.stat()
    this.parse()
  }

  countOf(sent: ReadonlySet<string>): number {
    let count = 0
    for (const hash of this.hashes) if (sent.has(hash)) count++
    return count
  }
}

/** Polls every pool until all hold `hash`; resolves the bench-clock time of that, or undefined on timeout. */
export const waitForHashEverywhere = async (
  pools: ReadonlyArray<PoolWatcher>,
  hash: string,
  options: { readonly timeoutMs: number; readonly pollMs: number },
): Promise<number | undefined> => {
  const deadline = now() + options.timeoutMs
  const waiting = new Set(pools)
  for (;;) {
    for (const pool of waiting) {
      pool.refresh()
      if (pool.hashes.has(hash)) waiting.delete(pool)
    }
    if (waiting.size === 0) return now()
    if (now() > deadline) return undefined
    await sleep(options.pollMs)
  }
}

export interface DeliveryOutcome {
  /** When every pool held every sent transaction (bench clock); undefined if that never happened. */
  readonly completeAt: number | undefined
  /** Per pool, how many of the sent transactions it held at the end. */
  readonly delivered: ReadonlyArray<number>
  readonly duplicates: number
  readonly invalidReads: number
  /** True if the files had stopped changing for `stallMs` when the wait ended (what is missing is lost). */
  readonly stalled: boolean
}

/**
 * Waits until every pool holds every sent transaction. Stats cheaply every `pollMs`; parses a file only
 * when it has grown to at least `expectedBytes` (the size of the complete pool) or has stopped changing
 * for a moment, so a large pool is not parsed on every write.
 */
export const waitForDelivery = async (
  pools: ReadonlyArray<PoolWatcher>,
  sent: ReadonlySet<string>,
  options: {
    readonly expectedBytes: number
    readonly timeoutMs: number
    readonly stallMs: number
    readonly pollMs: number
  },
): Promise<DeliveryOutcome> => {
  const deadline = now() + options.timeoutMs
  const settleMs = 250
  const complete = new Set<PoolWatcher>()
  let completeAt: number | undefined
  let stalled = false
  for (;;) {
    for (const pool of pools) {
      if (complete.has(pool)) continue
      pool.stat()
      const due = pool.size >= options.expectedBytes || now() - pool.changedAt > settleMs
      if (pool.unparsed && due && pool.parse() && pool.countOf(sent) === sent.size) complete.add(pool)
    }
    if (complete.size === pools.length) {
      completeAt = now()
      break
    }
    const quietFor = now() - Math.max(...pools.map((pool) => pool.changedAt))
    if (quietFor > options.stallMs && pools.every((pool) => !pool.unparsed)) {
      stalled = true
      break
    }
    if (now() > deadline) break
    await sleep(options.pollMs)
  }
  // The final count needs a valid read of every file; a file still being rewritten may take a few tries.
  for (const pool of pools) {
    pool.stat()
    for (let attempt = 0; attempt < 200 && !pool.parse(); attempt++) {
      await sleep(2)
      pool.stat()
    }
  }
  return {
    completeAt,
    delivered: pools.map((pool) => pool.countOf(sent)),
    duplicates: Math.max(...pools.map((pool) => pool.duplicates)),
    invalidReads: pools.reduce((sum, pool) => sum + pool.invalidReads, 0),
    stalled,
  }
}
