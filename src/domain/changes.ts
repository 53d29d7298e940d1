import { Effect, Queue, Stream } from "effect"

/**
 * A value's changes for whoever follows them, as a stream: the current value, then the value after
 * each `publish`. Followers are told in a plain loop, so with no one following (a node at work, no
 * debug log) a change costs nothing more than the change itself.
 */
export const makeChanges = <A>(current: () => A) => {
  const followers = new Set<Queue.Queue<A>>()
  return {
    /** Tells every follower the value as it is now; call it in the same step as the change. */
    publish: (): void => {
      if (followers.size === 0) return
      const value = current()
      for (const follower of followers) follower.unsafeOffer(value)
    },
    changes: Stream.unwrapScoped(
      Effect.gen(function* () {
        const queue = yield* Effect.acquireRelease(Queue.unbounded<A>(), (queue) =>
          Effect.zipRight(
            Effect.sync(() => followers.delete(queue)),
            Queue.shutdown(queue),
          ),
        )
        // Following and reading the value in one step: no change falls between them.
        const now = yield* Effect.sync(() => {
          followers.add(queue)
          return current()
        })
        return Stream.concat(Stream.succeed(now), Stream.fromQueue(queue))
      }),
    ),
  }
}
