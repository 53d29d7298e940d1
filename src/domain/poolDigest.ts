import { createHash } from "node:crypto"

/** The digest of hashes already sorted: SHA-256 (hex) of them joined by "\n". */
export const digestOfSorted = (sorted: ReadonlyArray<string>): string =>
  createHash("sha256").update(sorted.join("\n")).digest("hex")

/**
 * A pool's digest, as the catch-up sync compares pools (docs/protocol-sync.md) and /status reports
 * them: SHA-256 (hex) of its hashes, sorted, joined by "\n".
 */
export const poolDigest = (hashes: Iterable<string>): string => digestOfSorted([...hashes].sort())

/** A pool in brief: its size and digest. */
export interface PoolSummary {
  readonly count: number
  readonly digest: string
}

/**
 * `sorted` with `added` merged in, sorted: a pool's hashes kept in order as it grows, at the cost of
 * sorting what is new and one pass over the rest (not a sort of the whole pool on every change).
 */
export const mergeSorted = (sorted: ReadonlyArray<string>, added: ReadonlyArray<string>): Array<string> => {
  const fresh = [...added].sort()
  const merged: Array<string> = new Array(sorted.length + fresh.length)
  let i = 0
  let j = 0
  for (let k = 0; k < merged.length; k++) {
    const old = sorted[i]
    const next = fresh[j]
    if (next === undefined || (old !== undefined && old <= next)) {
      merged[k] = old ?? ""
      i++
    } else {
      merged[k] = next
      j++
    }
  }
  return merged
}

/** Where in `sorted` the first hash not below `from` lies (its length if none). */
export const lowerBound = (sorted: ReadonlyArray<string>, from: string): number => {
  let low = 0
  let high = sorted.length
  while (low < high) {
    const middle = (low + high) >>> 1
    if ((sorted[middle] ?? "") < from) low = middle + 1
    else high = middle
  }
  return low
}

/** The hashes of `sorted` in the range from `from` up to (not including) `to`; `null` is the end. */
export const hashesInRange = (sorted: ReadonlyArray<string>, from: string, to: string | null): ReadonlyArray<string> =>
  sorted.slice(lowerBound(sorted, from), to === null ? sorted.length : lowerBound(sorted, to))
