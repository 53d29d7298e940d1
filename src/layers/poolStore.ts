import type { Transaction } from "../domain/Transaction.js"

/** Where a pool keeps its transactions: each at most once, by hash, in arrival order. */
export interface PoolStore {
  readonly size: () => number
  readonly has: (hash: string) => boolean
  /** Adds a transaction whose hash is new. */
  readonly append: (tx: Transaction) => void
  readonly list: () => Array<Transaction>
  /** The transaction with this hash, if held. */
  readonly get: (hash: string) => Transaction | undefined
  /** The hashes, in arrival order. */
  readonly hashes: () => Iterable<string>
  /** The size of its file, in bytes (0 for a pool without one). */
  readonly bytes: () => number
}

/** The transactions as objects, for a pool that lives only in memory. */
export const makeObjectStore = (): PoolStore => {
  const byHash = new Map<string, Transaction>()
  return {
    size: () => byHash.size,
    has: (hash) => byHash.has(hash),
    append: (tx) => {
      byHash.set(tx.hash, tx)
    },
    list: () => [...byHash.values()],
    get: (hash) => byHash.get(hash),
    hashes: () => byHash.keys(),
    bytes: () => 0,
  }
}

/** One transaction as `JSON.stringify(pool, null, 2)` prints it inside the array. */
const renderPoolEntry = (tx: Transaction): string => `  ${JSON.stringify(tx, null, 2).replaceAll("\n", "\n  ")}`

const opening = Buffer.from("[\n")
const closing = Buffer.from("\n]")
const separator = Buffer.from(",\n")
const empty = Buffer.from("[]")
const firstChunkBytes = 64 * 1024
const largestChunkBytes = 4 * 1024 * 1024

/** Our own bytes, validated when they came in, read back as the transaction they render. */
const parseEntry = (text: string): Transaction => JSON.parse(text)

/**
 * The transactions held once: as the file's bytes, rendered once when each is added, plus an index
 * from hash to where its entry lies. The bytes live in chunks that are filled and never moved (each
 * new one twice the last, up to 4 MiB), so a write costs no copy and growing costs no reallocation;
 * objects are parsed back from the bytes only when asked for (`get` one, for the catch-up sync and
 * /tx/:hash; `list` them all).
 */
export const makeRenderedStore = () => {
  const chunks: Array<Buffer> = []
  const chunkUsed: Array<number> = []
  // Entry i lies in chunks[entryChunk[i]] from entryStart[i] to entryEnd[i].
  const entryChunk: Array<number> = []
  const entryStart: Array<number> = []
  const entryEnd: Array<number> = []
  const byHash = new Map<string, number>()
  let bytes = 0

  const room = (needed: number): number => {
    const last = chunks.length - 1
    const current = chunks[last]
    if (current !== undefined && (chunkUsed[last] ?? 0) + needed <= current.length) return last
    const size = Math.max(needed, Math.min(largestChunkBytes, (current?.length ?? firstChunkBytes / 2) * 2))
    chunks.push(Buffer.allocUnsafe(size))
    chunkUsed.push(0)
    return last + 1
  }

  const append = (tx: Transaction) => {
    const entry = renderPoolEntry(tx)
    const first = byHash.size === 0
    const length = Buffer.byteLength(entry)
    const index = room(length + (first ? 0 : separator.length))
    const chunk = chunks[index] ?? Buffer.alloc(0)
    let used = chunkUsed[index] ?? 0
    if (!first) used += separator.copy(chunk, used)
    entryChunk.push(index)
    entryStart.push(used)
    used += chunk.write(entry, used)
    entryEnd.push(used)
    chunkUsed[index] = used
    bytes += length + (first ? 0 : separator.length)
    byHash.set(tx.hash, byHash.size)
  }

  const entryText = (i: number) =>
    (chunks[entryChunk[i] ?? 0] ?? empty).toString("utf8", entryStart[i] ?? 0, entryEnd[i] ?? 0)

  return {
    size: () => byHash.size,
    has: (hash: string) => byHash.has(hash),
    append,
    list: () => Array.from({ length: byHash.size }, (_, i) => parseEntry(entryText(i))),
    get: (hash: string) => {
      const i = byHash.get(hash)
      return i === undefined ? undefined : parseEntry(entryText(i))
    },
    hashes: () => byHash.keys(),
    bytes: () => (byHash.size === 0 ? empty.length : opening.length + bytes + closing.length),
    /** The whole file as it stands, as views on the rendered bytes (they stay valid: appends go past them). */
    file: (): ReadonlyArray<Uint8Array> =>
      byHash.size === 0
        ? [empty]
        : [opening, ...chunks.map((chunk, i) => chunk.subarray(0, chunkUsed[i] ?? 0)), closing],
  } satisfies PoolStore & { readonly file: () => ReadonlyArray<Uint8Array> }
}
