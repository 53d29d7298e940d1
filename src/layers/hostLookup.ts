import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from "node:dns"
import type { LookupFunction } from "node:net"

/** How long a resolved host name is reused: a forming mesh dials the same few names many times at once. */
const LOOKUP_TTL_MILLIS = 10_000

/** Host names remembered at once (a bound, so a handshake full of names cannot grow it). */
const LOOKUP_CACHE_SIZE = 256

type Callback = Parameters<LookupFunction>[2]

interface Entry {
  /** What the lookup answered, as `dns.lookup` with `all: true` answers it. */
  readonly addresses: ReadonlyArray<LookupAddress>
  readonly expiresAt: number
}

/**
 * A `lookup` for net.connect (ws passes it through) that resolves each host name once and reuses the
 * answer for `ttlMillis`: every dial of `ws://localhost:<port>` otherwise costs a getaddrinfo on the
 * thread pool. Lookups of a name already under way are joined, not repeated. Failures are not
 * remembered (the next dial asks again). Node 20 asks with `{ all: true }` (autoSelectFamily) and
 * without (a plain connect); both are answered from the same entry, as `dns.lookup` would: the whole
 * list, or its first address. One per transport, so per node.
 */
export const makeHostLookup = (
  options: {
    readonly resolve?: (hostname: string, options: LookupOptions & { all: true }, callback: AllCallback) => void
    readonly now?: () => number
    readonly ttlMillis?: number
  } = {},
): LookupFunction => {
  const resolve = options.resolve ?? ((hostname, all, callback) => dnsLookup(hostname, all, callback))
  const now = options.now ?? Date.now
  const ttlMillis = options.ttlMillis ?? LOOKUP_TTL_MILLIS
  const resolved = new Map<string, Entry>()
  const pending = new Map<string, Array<(error: NodeJS.ErrnoException | null, entry?: Entry) => void>>()

  const answer = (
    callback: Callback,
    all: boolean,
    error: NodeJS.ErrnoException | null,
    addresses: ReadonlyArray<LookupAddress>,
  ) => {
    if (error !== null) return callback(error, all ? [] : "")
    if (all) return callback(null, [...addresses])
    const [first] = addresses
    if (first === undefined) return callback(Object.assign(new Error("no address"), { code: "ENOTFOUND" }), "")
    callback(null, first.address, first.family)
  }

  return (hostname, lookupOptions, callback) => {
    const all = lookupOptions.all === true
    // The family, hints and order change the answer: each combination is its own entry.
    const { all: _all, ...rest } = lookupOptions
    const key = `${rest.family ?? 0} ${rest.hints ?? 0} ${rest.order ?? rest.verbatim ?? ""} ${hostname}`
    const entry = resolved.get(key)
    if (entry !== undefined && entry.expiresAt > now()) {
      // Answered on a later tick, as dns.lookup does: net.connect expects that.
      process.nextTick(answer, callback, all, null, entry.addresses)
      return
    }
    const waiting = pending.get(key)
    const onResolved = (error: NodeJS.ErrnoException | null, resolvedEntry?: Entry) =>
      answer(callback, all, error, resolvedEntry?.addresses ?? [])
    if (waiting !== undefined) {
      waiting.push(onResolved)
      return
    }
    pending.set(key, [onResolved])
    resolve(hostname, { ...rest, all: true }, (error, addresses) => {
      const callbacks = pending.get(key) ?? []
      pending.delete(key)
      let fresh: Entry | undefined
      if (error === null) {
        fresh = { addresses, expiresAt: now() + ttlMillis }
        if (resolved.size >= LOOKUP_CACHE_SIZE) resolved.clear()
        resolved.set(key, fresh)
      } else {
        resolved.delete(key)
      }
      for (const onDone of callbacks) onDone(error, fresh)
    })
  }
}

type AllCallback = (error: NodeJS.ErrnoException | null, addresses: Array<LookupAddress>) => void
