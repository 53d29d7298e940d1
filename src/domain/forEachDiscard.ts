import { Effect } from "effect"

/**
 * `Effect.forEach(items, f, { discard: true })`, in order, without the loop's set-up (about five fiber
 * steps) when there is nothing to do or one thing: most PEERS messages list no address to dial, and
 * a frame handler often has one step to run.
 */
export const forEachDiscard = <A, E, R>(
  items: ReadonlyArray<A>,
  f: (item: A) => Effect.Effect<unknown, E, R>,
): Effect.Effect<void, E, R> => {
  if (items.length === 0) return Effect.void
  const [only] = items
  return items.length === 1 && only !== undefined ? Effect.asVoid(f(only)) : Effect.forEach(items, f, { discard: true })
}
