import { Effect } from "effect"
import { Limits } from "../services/Limits.js"

export type SlotDirection = "inbound" | "outbound"

/**
 * The node's budget of open connections, inbound and outbound together. Inbound connections may
 * take all but `reservedOutbound` of them (at most half), so peers that connect to us, however many,
 * never keep us from dialling our own.
 */
export const makeConnectionSlots = Effect.gen(function* () {
  const limits = yield* Limits
  const reserved = Math.min(limits.reservedOutbound, Math.floor(limits.maxConnections / 2))
  const inboundLimit = limits.maxConnections - reserved
  // Changed only in synchronous steps, so fibers cannot interleave in a change.
  let open = 0
  let inbound = 0

  const refused = (direction: SlotDirection, limit: string) =>
    Effect.logWarning("connection refused: too many connections").pipe(
      Effect.annotateLogs({ direction, limit }),
      Effect.as(false),
    )

  /** Why a connection in `direction` gets no slot now, or undefined if it gets one. */
  const fullFor = (direction: SlotDirection): string | undefined => {
    if (open >= limits.maxConnections) return `${limits.maxConnections} connections`
    if (direction === "inbound" && inbound >= inboundLimit) {
      return `${inboundLimit} inbound connections (${reserved} of ${limits.maxConnections} kept for our own dials)`
    }
    return undefined
  }

  /**
   * Takes a slot for as long as the scope is open: true if there was one. When there is none, one
   * warning line says so and the caller refuses the connection.
   */
  const take = (direction: SlotDirection) =>
    Effect.flatMap(
      Effect.acquireRelease(
        Effect.sync(() => {
          const full = fullFor(direction)
          if (full !== undefined) return full
          open++
          if (direction === "inbound") inbound++
          return undefined
        }),
        (full) =>
          full === undefined
            ? Effect.sync(() => {
                open--
                if (direction === "inbound") inbound--
              })
            : Effect.void,
      ),
      (full) => (full === undefined ? Effect.succeed(true) : refused(direction, full)),
    )

  return { take, open: Effect.sync(() => open) }
})

export type ConnectionSlots = Effect.Effect.Success<typeof makeConnectionSlots>
