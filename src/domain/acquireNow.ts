import { Effect, Scope } from "effect"

/**
 * `Effect.acquireRelease` for an acquisition that is a plain call and cannot fail (a counter, a set,
 * a table entry), in about six fiber steps instead of fifteen. The release goes into the scope first
 * and does something only once the acquisition has happened, so no uninterruptible region is needed:
 * an interruption between the two steps finds nothing to release (and a scope that was already closed
 * has its release run right after the acquisition). The release runs in the closing fiber, with its
 * context; those here touch only their own state. For what every connection acquires.
 */
export const acquireReleaseNow = <A>(
  acquire: () => A,
  release: (acquired: A) => Effect.Effect<void>,
): Effect.Effect<A, never, Scope.Scope> =>
  Effect.flatMap(Effect.scope, (scope) => {
    let state: { readonly value: A } | "waiting" | "released" = "waiting"
    return Effect.zipRight(
      Scope.addFinalizer(
        scope,
        Effect.suspend(() => {
          const acquired = state
          state = "released"
          return typeof acquired === "object" ? release(acquired.value) : Effect.void
        }),
      ),
      Effect.suspend(() => {
        const value = acquire()
        if (state === "released") return Effect.as(release(value), value)
        state = { value }
        return Effect.succeed(value)
      }),
    )
  })
