import { Effect, FiberRef, HashMap, LogLevel } from "effect"

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

/**
 * `Effect.annotateLogs(effect, key, value)` in three fiber steps rather than about fifteen, for an
 * effect that cannot fail: the annotations are put back when it succeeds (a fiber interrupted meanwhile
 * ends with them). For what runs for every message or connection.
 */
export const withLogAnnotation =
  (key: string, value: unknown) =>
  <A, R>(effect: Effect.Effect<A, never, R>): Effect.Effect<A, never, R> =>
    Effect.flatMap(FiberRef.getAndUpdate(FiberRef.currentLogAnnotations, HashMap.set(key, value)), (before) =>
      Effect.zipLeft(effect, FiberRef.set(FiberRef.currentLogAnnotations, before)),
    )
