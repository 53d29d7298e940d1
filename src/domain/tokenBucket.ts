/** A token bucket: `capacity` tokens at most, refilled continuously at `perSecond`. */
export interface TokenBucket {
  readonly tokens: number
  readonly updatedAt: number
}

export interface BucketRate {
  readonly capacity: number
  readonly perSecond: number
}

export const fullBucket = (rate: BucketRate, now: number): TokenBucket => ({ tokens: rate.capacity, updatedAt: now })

/** Takes one token at time `now` (milliseconds): whether there was one, and the bucket after. */
export const takeToken = (bucket: TokenBucket, rate: BucketRate, now: number): readonly [boolean, TokenBucket] => {
  const [granted, after] = takeTokens(bucket, rate, now, 1)
  return [granted === 1, after]
}

/** Takes up to `wanted` whole tokens at time `now`: how many it got, and the bucket after. */
export const takeTokens = (
  bucket: TokenBucket,
  rate: BucketRate,
  now: number,
  wanted: number,
): readonly [number, TokenBucket] => {
  const elapsed = Math.max(0, now - bucket.updatedAt)
  const tokens = Math.min(rate.capacity, bucket.tokens + (elapsed * rate.perSecond) / 1000)
  const granted = Math.max(0, Math.min(wanted, Math.floor(tokens)))
  return [granted, { tokens: tokens - granted, updatedAt: now }]
}
