import { createHash } from "node:crypto"

/**
 * A pool's digest, as the catch-up sync compares pools (docs/protocol-sync.md) and /status reports
 * them. The hashes (lowercase hex, as their Schema requires) fall into 256 buckets by their first two
 * digits; a bucket's digest is the SHA-256 (hex) of its hashes, sorted, joined by "\n", and the pool's
 * is the SHA-256 of the 256 bucket digests, in order, joined by "\n". Two levels, so that a pool that
 * grows by one transaction hashes one bucket again, not all of its hashes.
 */

/** How many buckets a pool's hashes fall into. */
export const BUCKETS = 256

/** The value of a lowercase hex digit's character code, or -1. */
const hexDigit = (code: number): number =>
  code >= 48 && code <= 57 ? code - 48 : code >= 97 && code <= 102 ? code - 87 : -1

/** The bucket of a hash: its first two hex digits (0 for anything else). Read without a substring: it runs per transaction. */
export const bucketOf = (hash: string): number => {
  const high = hexDigit(hash.charCodeAt(0))
  const low = hexDigit(hash.charCodeAt(1))
  return high < 0 || low < 0 ? 0 : high * 16 + low
}

const sha256Hex = (text: string): string => createHash("sha256").update(text).digest("hex")

/** The digest of one bucket's hashes, already sorted. */
export const bucketDigest = (sorted: ReadonlyArray<string>): string => sha256Hex(sorted.join("\n"))

/** The pool's digest from its 256 bucket digests, in bucket order. */
export const digestOfBuckets = (digests: ReadonlyArray<string>): string => sha256Hex(digests.join("\n"))

/** The hashes sorted into their buckets. */
export const bucketsOf = (hashes: Iterable<string>): Array<Array<string>> => {
  const buckets = Array.from({ length: BUCKETS }, (): Array<string> => [])
  for (const hash of hashes) buckets[bucketOf(hash)]?.push(hash)
  for (const bucket of buckets) bucket.sort()
  return buckets
}

/** A pool's digest, worked out from all its hashes. */
export const poolDigest = (hashes: Iterable<string>): string => digestOfBuckets(bucketsOf(hashes).map(bucketDigest))

/** A pool in brief: its size and digest. */
export interface PoolSummary {
  readonly count: number
  readonly digest: string
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
