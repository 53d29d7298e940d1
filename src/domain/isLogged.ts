import { Effect, FiberRef, LogLevel } from "effect"

/**
 * Whether a line at `level` would be logged here. Work done for every frame or write builds its log
 * lines only then: annotating a line that is dropped still costs.
 */
export const isLogged = (level: LogLevel.LogLevel) =>
  Effect.map(FiberRef.get(FiberRef.currentMinimumLogLevel), (minimum) => LogLevel.greaterThanEqual(level, minimum))
