import { Clock, Effect, Queue, Stream } from "effect"
import type { Address } from "../domain/Address.js"
import { ipKey, makeIpBuckets } from "../domain/ipBuckets.js"
import { Limits, type LimitsShape } from "../services/Limits.js"
import type { PeerStoreShape } from "../services/PeerStore.js"
import { makeThrottledWarning } from "./throttledWarning.js"

/** How often the line about dropped addresses may come (with the counts meanwhile). */
const droppedLineInterval = 60_000

export interface AddressBookOptions {
  /** The peer table, where an address waiting in the book is marked (queued). */
  readonly table: Pick<PeerStoreShape, "queue" | "unqueue">
  /**
   * Those of `addresses` that need a dial: not our own, not waiting in the book, not connected, not
   * dialled already (most of what peers list is one of those).
   */
  readonly unsettled: (addresses: ReadonlyArray<Address>) => Effect.Effect<ReadonlyArray<Address>>
  /** Starts dialling `address`; the dialler's own checks still apply. */
  readonly dial: (address: Address) => Effect.Effect<void>
}

/**
 * Learned addresses are kept, not obeyed (docs/limits.md). What a HANDSHAKE or a PEERS message lists
 * goes into the node's address book, never straight to a dial: each source (the IP the frame came
 * from) may add `learnedPerMinute` addresses a minute, the book holds `addressBookSize` addresses
 * waiting, and one loop of the node's own dials them, oldest first, at a global pace (`Stream.throttle`:
 * `dialsPerSecond`, up to `dialBurst` more after a quiet spell). A forming mesh learns a few dozen
 * addresses, which the pace lets through at once: a HANDSHAKE still leads to a full mesh within
 * seconds, as the spec wants. A peer that lists fresh addresses without end fills its share of the
 * book and is dialled at the pace, however fast it sends.
 */
export const makeAddressBook = (options: AddressBookOptions) =>
  Effect.gen(function* () {
    const limits = yield* Limits
    const waiting = yield* Queue.dropping<Address>(limits.addressBookSize)
    const perSource = makeIpBuckets({ capacity: limits.learnedPerMinute, perSecond: limits.learnedPerMinute / 60 })
    const dropped = yield* makeThrottledWarning("learned addresses dropped", droppedLineInterval)

    /** Keeps the addresses `source` (an IP) listed for the dial loop, within the source's budget and the book's size. */
    const learn = (addresses: ReadonlyArray<Address>, source: string | undefined) =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        // Waiting in the book already (the peer table says so), dialled or connected: left alone.
        const fresh = yield* options.unsettled(addresses)
        const from = ipKey(source)
        const kept = new Set<Address>()
        let overBudget = 0
        let bookFull = 0
        for (const address of fresh) {
          if (kept.has(address)) continue // listed twice
          if (!perSource.take(from, now)) overBudget++
          else if (!Queue.unsafeOffer(waiting, address)) bookFull++
          else kept.add(address)
        }
        if (kept.size > 0) yield* options.table.queue([...kept])
        if (overBudget + bookFull === 0) return
        yield* dropped({
          source: from,
          overBudget,
          bookFull,
          limit: `${limits.learnedPerMinute} addresses a minute from one source, ${limits.addressBookSize} waiting`,
        })
      })

    yield* Effect.forkScoped(dialAtPace(waiting, limits, options))

    return { learn }
  })

/**
 * The book's dial loop: the oldest waiting address first, at the node's pace (`Stream.throttle`:
 * `dialsPerSecond`, up to `dialBurst` more after a quiet spell). An address is out of the book once
 * taken; it is dialled if it still needs a dial then.
 */
const dialAtPace = (
  waiting: Queue.Dequeue<Address>,
  limits: Pick<LimitsShape, "dialsPerSecond" | "dialBurst">,
  options: AddressBookOptions,
) =>
  Stream.fromQueue(waiting, { maxChunkSize: 1 }).pipe(
    Stream.throttle({
      cost: (chunk) => chunk.length,
      units: limits.dialsPerSecond,
      duration: "1 second",
      burst: limits.dialBurst,
      strategy: "shape",
    }),
    Stream.runForEach((address) =>
      options.table.unqueue(address).pipe(
        Effect.zipRight(options.unsettled([address])),
        Effect.flatMap((fresh) => (fresh.length === 0 ? Effect.void : options.dial(address))),
      ),
    ),
  )
