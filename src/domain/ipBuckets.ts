import { type BucketRate, fullBucket, type TokenBucket, takeToken, takeTokens } from "./tokenBucket.js"

/** An IP as a socket reports it, IPv4-mapped IPv6 (`::ffff:127.0.0.1`) as plain IPv4; "?" if unknown. */
export const ipKey = (ip: string | undefined): string => {
  if (ip === undefined || ip === "") return "?"
  const lower = ip.toLowerCase()
  return lower.startsWith("::ffff:") && lower.includes(".") ? lower.slice(7) : lower
}

/** Token buckets keyed by IP: one budget per address, however many connections it opens or reopens. */
export interface IpBuckets {
  /** Takes one token for `ip` at `now` (ms): whether there was one. */
  readonly take: (ip: string, now: number) => boolean
  /** Takes up to `wanted` tokens for `ip` at `now`: how many it got. */
  readonly takeUpTo: (ip: string, now: number, wanted: number) => number
  readonly size: () => number
}

/**
 * Per-IP buckets in a Map of at most `maxIps` entries. When it is full, buckets that have refilled
 * (the IP has been quiet) are dropped first; if none has, the oldest goes: a flood of fresh IPs can
 * reset an old IP's budget, never grow memory.
 */
export const makeIpBuckets = (rate: BucketRate, maxIps = 10_000): IpBuckets => {
  const buckets = new Map<string, TokenBucket>()
  const bucketOf = (ip: string, now: number): TokenBucket => {
    const held = buckets.get(ip)
    if (held !== undefined) return held
    if (buckets.size >= maxIps) evict(now)
    return fullBucket(rate, now)
  }
  const evict = (now: number) => {
    for (const [ip, bucket] of buckets) {
      if (bucket.tokens + ((now - bucket.updatedAt) * rate.perSecond) / 1000 >= rate.capacity) buckets.delete(ip)
    }
    const oldest = buckets.keys().next()
    if (buckets.size >= maxIps && oldest.done !== true) buckets.delete(oldest.value)
  }
  return {
    take: (ip, now) => {
      const [allowed, next] = takeToken(bucketOf(ip, now), rate, now)
      buckets.set(ip, next)
      return allowed
    },
    takeUpTo: (ip, now, wanted) => {
      const [granted, next] = takeTokens(bucketOf(ip, now), rate, now, wanted)
      buckets.set(ip, next)
      return granted
    },
    size: () => buckets.size,
  }
}
