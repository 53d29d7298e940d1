import { Effect, Option, Queue, Random, Stream } from "effect"
import type { Address } from "../domain/Address.js"
import { NodeConfig } from "../services/NodeConfig.js"
import { makeCandidateBook } from "./candidateBook.js"
import type { Links } from "./links.js"
import { makeDialGate } from "./peerBudgetGate.js"
import { makeReconcile } from "./peerBudgetReconcile.js"
import type { DialOutcome } from "./redialLoop.js"

/** How many remembered addresses a PEERS message passes on. */
const SAMPLE_SIZE = 16

/**
 * How many peers a node keeps (MAX_PEERS, docs/scaling.md). Without MAX_PEERS it allows everything:
 * the spec's full mesh. With MAX_PEERS=k:
 * - it dials (known peers and learned addresses alike) only while it has fewer than ceil(k/2) links,
 *   and never an address it is already linked to (in bounded mode a pair shares one connection);
 * - it accepts every inbound peer, and when that makes more than k links, it drops one of its other
 *   peers that is not a known peer, preferring one that told us it has more than ceil(k/2) peers (so
 *   it can spare one); the dropped peer first gets our PEERS, to know where else to go;
 * - two links to one peer (both dialled at once) become one: the connection dialled by the smaller
 *   address stays, on both ends alike;
 * - below ceil(k/2) links it dials addresses learned from HANDSHAKE and PEERS messages, at random.
 * Dialling up to half and accepting up to all of k leaves room for newcomers, so nodes rarely need to
 * drop anyone, and a dropped node usually keeps enough peers not to dial again.
 */
export const makePeerBudget = (links: Links) =>
  Effect.gen(function* () {
    const config = yield* NodeConfig
    if (Option.isNone(config.mesh.maxPeers)) return unlimited(links)
    const max = config.mesh.maxPeers.value
    const target = Math.ceil(max / 2)
    const self = config.address
    const known = new Set(config.knownPeers)
    const book = makeCandidateBook((address) => known.has(address))
    for (const address of config.knownPeers) if (address !== self) book.add(address)
    const short = yield* Queue.sliding<void>(1)
    const { count, mayDial, gate } = makeDialGate({ links, target, known, forget: book.delete })
    const reconcile = makeReconcile({ links, self, known, max, target, count, short })
    const run = keepBudget({
      links,
      target,
      count,
      book,
      short,
      reconcile,
      everyMillis: config.healing.redialMaxMillis,
    })

    return {
      /** Whether to start dialling `address` at all (it is remembered either way). */
      admits: (address: Address) =>
        Effect.suspend(() => {
          if (address !== self) book.add(address)
          return mayDial(address)
        }),
      gate,
      run,
      /**
       * Addresses a peer listed in PEERS: in bounded mode they are how a node finds more peers. All are
       * remembered; as many as we lack are dialled, picked at random.
       */
      onListed: (addresses: ReadonlyArray<Address>, dial: (address: Address) => Effect.Effect<void>) =>
        Effect.gen(function* () {
          for (const address of addresses) if (address !== self) book.add(address)
          const missing = target - (yield* count)
          if (missing <= 0) return
          const others = addresses.filter((address) => address !== self)
          const picked = yield* pickUnlinked(links, others, missing)
          yield* Effect.forEach(picked, dial, { discard: true })
        }),
      /** A few remembered addresses, at random, for our PEERS messages. */
      sample: sampleOf(book),
    }
  })

type CandidateBook = ReturnType<typeof makeCandidateBook>

/** Keeps the budget: reacts to every change of the links, and tops up when short (also every `everyMillis`). */
const keepBudget = (options: {
  readonly links: Links
  readonly target: number
  readonly count: Effect.Effect<number>
  readonly book: CandidateBook
  readonly short: Queue.Queue<void>
  readonly reconcile: ReturnType<typeof makeReconcile>
  readonly everyMillis: number
}) => {
  const { links, target, count, book, short, reconcile, everyMillis } = options

  /** Dials random remembered addresses while there are fewer than `target` links. */
  const topUp = (dial: (address: Address) => Effect.Effect<void>) =>
    Effect.gen(function* () {
      const missing = target - (yield* count)
      if (missing <= 0) return
      const picked = yield* pickUnlinked(links, book.all(), missing)
      if (picked.length > 0) {
        yield* Effect.logDebug("dialling for more peers").pipe(Effect.annotateLogs({ links: yield* count, target }))
      }
      yield* Effect.forEach(picked, dial, { discard: true })
    })

  return (dial: (address: Address) => Effect.Effect<void>) =>
    Effect.all(
      [
        Stream.runForEach(links.changes, reconcile),
        // Only a change of the links (or the clock, rarely) tops up: a dial that fails changes nothing,
        // so unreachable addresses are not hammered; their redial loops keep their own backoff.
        Effect.forever(Effect.zipRight(Effect.raceFirst(Queue.take(short), Effect.sleep(everyMillis)), topUp(dial))),
      ],
      { concurrency: "unbounded", discard: true },
    )
}

/** Up to `missing` of `candidates` that we have no link to, picked at random. */
const pickUnlinked = (links: Links, candidates: ReadonlyArray<Address>, missing: number) =>
  Effect.flatMap(links.unlinked(candidates), (unlinked) =>
    Effect.map(Random.shuffle(unlinked), (shuffled) => Array.from(shuffled).slice(0, missing)),
  )

const sampleOf = (book: CandidateBook) =>
  // Suspended: the book grows after start, and each sample is drawn from it as it is then.
  Effect.suspend(() =>
    Effect.map(
      Effect.forEach(Array.from({ length: Math.min(SAMPLE_SIZE, book.size()) }), () =>
        Random.nextIntBetween(0, book.size()),
      ),
      (picks) => [...new Set(picks.map(book.at))].filter(isDefined),
    ),
  )

const isDefined = <A>(value: A | undefined): value is A => value !== undefined

/** No MAX_PEERS: every address is dialled and every peer kept, as the spec's full mesh needs. */
const unlimited = (links: Links) => ({
  admits: (_address: Address): Effect.Effect<boolean> => Effect.succeed(true),
  gate: <R>(_address: Address, connect: Effect.Effect<DialOutcome, never, R>) => connect,
  run: (_dial: (address: Address) => Effect.Effect<void>) => Effect.void,
  // PEERS lists are dialled too: a newcomer gets its first peer's list a round trip before that peer's
  // HANDSHAKE, and its other peers hear of it from their announcements instead of waiting for it to
  // dial them. Linked addresses are skipped (we dialled them, or their HANDSHAKE made us): a mesh
  // that has formed costs nothing here, however many announcements go round.
  onListed: (addresses: ReadonlyArray<Address>, dial: (address: Address) => Effect.Effect<void>) =>
    Effect.flatMap(links.unlinked(addresses), (unlinked) => Effect.forEach(unlinked, dial, { discard: true })),
  sample: Effect.succeed<ReadonlyArray<Address>>([]),
})

export type PeerBudget = ReturnType<typeof unlimited>
