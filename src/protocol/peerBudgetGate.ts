import { Effect } from "effect"
import type { Address } from "../domain/Address.js"
import type { Links } from "./links.js"
import type { DialOutcome } from "./redialLoop.js"

/**
 * The bounded mesh's gate for our own dials (peerBudget.ts): a dial starts only to an address we are
 * not linked to, while we have fewer than `target` links, and it counts as a link until it ends.
 */
export const makeDialGate = (options: {
  readonly links: Links
  readonly target: number
  readonly known: ReadonlySet<Address>
  /** Forgets a learned address that could not be reached (known peers are never forgotten). */
  readonly forget: (address: Address) => void
}) => {
  const { links, target, known, forget } = options
  // Outbound dials in flight or connected, counted from the moment they pass the gate.
  let outbound = 0

  /** Our links now: outbound dials passed by the gate, and inbound links. */
  const count = Effect.map(links.count("inbound"), (inbound) => outbound + inbound)

  /** Whether a dial of `address` may start now: not linked yet, and fewer links than the target. */
  const mayDial = (address: Address) =>
    Effect.zipWith(links.has(address), count, (linked, links) => !linked && links < target)

  /** Runs one dial of `address` if the budget allows it when the dial starts, holding its place until it ends. */
  const gate = <R>(address: Address, connect: Effect.Effect<DialOutcome, never, R>) =>
    Effect.acquireUseRelease(
      Effect.flatMap(mayDial(address), (passed) =>
        Effect.sync(() => {
          if (passed) outbound++
          return passed
        }),
      ),
      (passed) =>
        passed
          ? Effect.tap(connect, (outcome) =>
              Effect.sync(() => {
                if (outcome === "Unreachable" && !known.has(address)) forget(address)
              }),
            )
          : Effect.succeed<DialOutcome>("Busy"),
      (passed) =>
        Effect.sync(() => {
          if (passed) outbound--
        }),
    )

  return { count, mayDial, gate }
}
