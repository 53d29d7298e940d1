import { Effect, Queue, Random } from "effect"
import type { Address } from "../domain/Address.js"
import type { LinkSnapshot, Links } from "./links.js"

/**
 * The bounded mesh's rule after every change of the links (peerBudget.ts): one connection per pair,
 * at most `max` links, and a top-up (`short`) when below `target`.
 */
export const makeReconcile = (options: {
  readonly links: Links
  readonly self: Address
  readonly known: ReadonlySet<Address>
  readonly max: number
  readonly target: number
  /** Our links now: outbound dials passed by the budget, and inbound links. */
  readonly count: Effect.Effect<number>
  readonly short: Queue.Queue<void>
}) => {
  const { links, self, known, max, target, count, short } = options
  /** Drops one peer; `dropping` are those being dropped already (the table's leaving peers). */
  const dropOneSurplus = (snapshot: LinkSnapshot, dropping: ReadonlySet<Address>) =>
    Effect.gen(function* () {
      const isDroppable = (address: Address | undefined): address is Address =>
        address !== undefined && !known.has(address) && !dropping.has(address)
      const newest = snapshot.links.at(-1)?.address
      const candidates = snapshot.relayTo.filter((address) => isDroppable(address) && address !== newest)
      const spare = yield* Effect.filter(candidates, (address) =>
        Effect.map(links.viewSize(address), (size) => (size ?? 0) > target),
      )
      const pool = spare.length > 0 ? spare : candidates.length > 0 ? candidates : [newest].filter(isDroppable)
      const victim = pool[yield* Random.nextIntBetween(0, Math.max(pool.length, 1))]
      if (victim === undefined) return
      yield* Effect.logInfo("peer dropped: over MAX_PEERS").pipe(
        Effect.annotateLogs({ dropped: victim, links: yield* count, max }),
      )
      yield* links.drop(victim)
    })
  /** After every change of the links: one connection per pair, at most k, and a top-up when short. */
  const reconcile = (snapshot: LinkSnapshot) =>
    Effect.gen(function* () {
      // Those being dropped, so one surplus is not answered by two drops.
      const dropping = yield* links.leaving
      const directions = new Map<Address, number>()
      for (const link of snapshot.links) {
        directions.set(link.address, (directions.get(link.address) ?? 0) | (link.direction === "outbound" ? 1 : 2))
      }
      for (const [address, both] of directions) {
        // The connection dialled by the smaller address stays; both ends agree on which that is.
        if (both === 3) yield* links.close(address, self < address ? "inbound" : "outbound")
      }
      if ((yield* count) - dropping.size > max) yield* dropOneSurplus(snapshot, dropping)
      if ((yield* count) < target) yield* Queue.offer(short, undefined)
    })
  return reconcile
}
