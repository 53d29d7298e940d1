import { Effect, FiberRef, LogLevel } from "effect"

/**
 * Whether a line at `level` would be logged here. Work done for every frame or write builds its log
 * lines only then: annotating a line that is dropped still costs.
 */
export const isLogged = (level: LogLevel.LogLevel) =>
  Effect.map(FiberRef.get(FiberRef.currentMinimumLogLevel), (minimum) => LogLevel.greaterThanEqual(level, minimum))

/**
 * `Effect.logDebug(message)` with `annotations`, in one fiber step when debug lines are not logged:
 * annotating a line that is then dropped costs a dozen steps, on paths taken for every new peer.
 */
export const logDebugWith = (message: string, annotations: Readonly<Record<string, unknown>>): Effect.Effect<void> =>
  Effect.withFiberRuntime((fiber) =>
    LogLevel.greaterThanEqual(LogLevel.Debug, fiber.getFiberRef(FiberRef.currentMinimumLogLevel))
      ? Effect.annotateLogs(Effect.logDebug(message), annotations)
      : Effect.void,
  )
