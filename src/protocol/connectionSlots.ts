import { Effect } from "effect"
import { Limits } from "../services/Limits.js"

/** The node's budget of open connections, inbound and outbound together. */
export const makeConnectionSlots = Effect.gen(function* () {
  const limits = yield* Limits
  // Changed only in synchronous steps, so fibers cannot interleave in a change.
  let open = 0

  const refused = (direction: "inbound" | "outbound") =>
    Effect.logWarning("connection refused: too many connections").pipe(
      Effect.annotateLogs({ direction, limit: `${limits.maxConnections} connections` }),
      Effect.as(false),
    )

  /**
   * Takes a slot for as long as the scope is open: true if there was one. When there is none, one
   * warning line says so and the caller refuses the connection.
   */
  const take = (direction: "inbound" | "outbound") =>
    Effect.flatMap(
      Effect.acquireRelease(
        Effect.sync(() => {
          if (open >= limits.maxConnections) return false
          open++
          return true
        }),
        (taken) =>
          taken
            ? Effect.sync(() => {
                open--
              })
            : Effect.void,
      ),
      (taken) => (taken ? Effect.succeed(true) : refused(direction)),
    )

  return { take, open: Effect.sync(() => open) }
})

export type ConnectionSlots = Effect.Effect.Success<typeof makeConnectionSlots>
