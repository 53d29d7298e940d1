import { Effect, Ref } from "effect"
import { Limits } from "../services/Limits.js"

/** The node's budget of open connections, inbound and outbound together. */
export const makeConnectionSlots = Effect.gen(function* () {
  const limits = yield* Limits
  const open = yield* Ref.make(0)

  /**
   * Takes a slot for as long as the scope is open: true if there was one. When there is none, one
   * warning line says so and the caller refuses the connection.
   */
  const take = (direction: "inbound" | "outbound") =>
    Effect.acquireRelease(
      Ref.modify(open, (count): [boolean, number] =>
        count < limits.maxConnections ? [true, count + 1] : [false, count],
      ),
      (taken) => (taken ? Ref.update(open, (count) => count - 1) : Effect.void),
    ).pipe(
      Effect.tap((taken) =>
        taken
          ? Effect.void
          : Effect.logWarning("connection refused: too many connections").pipe(
              Effect.annotateLogs({ direction, limit: `${limits.maxConnections} connections` }),
            ),
      ),
    )

  return { take, open: Ref.get(open) }
})

export type ConnectionSlots = Effect.Effect.Success<typeof makeConnectionSlots>
