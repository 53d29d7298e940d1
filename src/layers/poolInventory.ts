import {
  BUCKETS,
  bucketDigest,
  bucketOf,
  bucketsOf,
  digestOfBuckets,
  lowerBound,
  type PoolSummary,
} from "../domain/poolDigest.js"

/**
 * A pool's hashes as the catch-up sync reads them: sorted, in the digest's 256 buckets
 * (domain/poolDigest.ts), with each bucket's digest kept until the bucket changes. A new hash costs a
 * binary search and an insert into one bucket; a summary after it hashes that bucket again, and the
 * 256 bucket digests. Nothing here is ever the whole pool's work again, whatever a peer asks.
 */
export const makePoolInventory = (initial: Iterable<string>) => {
  const buckets = bucketsOf(initial)
  const digests: Array<string | undefined> = Array.from({ length: BUCKETS }, () => undefined)
  let count = buckets.reduce((total, bucket) => total + bucket.length, 0)
  let summary: PoolSummary | undefined

  /** A hash the pool did not hold. */
  const add = (hash: string): void => {
    const index = bucketOf(hash)
    const bucket = buckets[index]
    if (bucket === undefined) return
    bucket.splice(lowerBound(bucket, hash), 0, hash)
    digests[index] = undefined
    count++
    summary = undefined
  }

  const digestOf = (index: number): string => {
    const known = digests[index]
    if (known !== undefined) return known
    const digest = bucketDigest(buckets[index] ?? [])
    digests[index] = digest
    return digest
  }

  const currentSummary = (): PoolSummary => {
    summary ??= { count, digest: digestOfBuckets(buckets.map((_, index) => digestOf(index))) }
    return summary
  }

  /** The hashes from `from` up to, not including, `to` (`null`: the end), sorted; at most `limit`. */
  const range = (from: string, to: string | null, limit = Number.POSITIVE_INFINITY): Array<string> => {
    const found: Array<string> = []
    for (const bucket of buckets) {
      const last = bucket[bucket.length - 1]
      if (last === undefined || last < from) continue
      for (let i = lowerBound(bucket, from); i < bucket.length; i++) {
        const hash = bucket[i] ?? ""
        if (found.length >= limit || (to !== null && hash >= to)) return found
        found.push(hash)
      }
    }
    return found
  }

  return { add, summary: currentSummary, range }
}
