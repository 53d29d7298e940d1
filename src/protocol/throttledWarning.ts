import { Clock, Effect } from "effect"

/**
 * A warning for an event a peer can repeat at will: logged at most once per interval, with the count
 * of events since the previous line, so an attacker cannot turn it into a flood of log lines.
 */
export const makeThrottledWarning = (message: string, intervalMillis: number) =>
  Effect.sync(() => throttledWarning(message, intervalMillis))

/** `makeThrottledWarning` as a plain call, for what is built per connection. */
export const throttledWarning = (message: string, intervalMillis: number) => {
  let count = 0
  let loggedAt = Number.NEGATIVE_INFINITY
  return (annotations: Readonly<Record<string, unknown>>) =>
    Effect.gen(function* () {
      count++
      const now = yield* Clock.currentTimeMillis
      if (now - loggedAt < intervalMillis) return
      yield* Effect.logWarning(message).pipe(Effect.annotateLogs({ ...annotations, count }))
      count = 0
      loggedAt = now
    })
}
