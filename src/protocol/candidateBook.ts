import type { Address } from "../domain/Address.js"

/** Addresses remembered as candidates for new links. */
const CANDIDATES = 1024

/**
 * Addresses to try, with random picks in constant time. Once full, a new address replaces a random
 * remembered one (never a known peer), so the book keeps sampling the whole network.
 */
export const makeCandidateBook = (keep: (address: Address) => boolean) => {
  const entries: Array<Address> = []
  const index = new Map<Address, number>()
  const remove = (address: Address) => {
    const i = index.get(address)
    const last = entries.pop()
    if (i === undefined || last === undefined) return
    index.delete(address)
    if (last !== address) {
      entries[i] = last
      index.set(last, i)
    }
  }
  return {
    add: (address: Address) => {
      if (index.has(address)) return
      if (entries.length >= CANDIDATES) {
        const evicted = entries[Math.floor(Math.random() * entries.length)]
        if (evicted !== undefined && !keep(evicted)) remove(evicted)
      }
      index.set(address, entries.length)
      entries.push(address)
    },
    delete: remove,
    size: () => entries.length,
    at: (i: number): Address | undefined => entries[i],
    all: (): ReadonlyArray<Address> => entries,
  }
}
