import { Effect, FiberRef, HashMap, LogLevel } from "effect"

/**
 * Whether a line at `level` would be logged here. Work done for every frame or write builds its log
 * lines only then: annotating a line that is dropped still costs.
 */
export const isLogged = (level: LogLevel.LogLevel) =>
  Effect.map(FiberRef.get(FiberRef.currentMinimumLogLevel), (minimum) => LogLevel.greaterThanEqual(level, minimum))

/**
 * `Effect.logWithLevel(level, message)` with `annotations`, in one fiber step when lines at `level`
 * are not logged: annotating a line that is then dropped costs a dozen steps (about 70 µs while the
 * code is cold), on paths taken for every new peer.
 */
export const logAtWith = (
  level: LogLevel.LogLevel,
  message: string,
  annotations: Readonly<Record<string, unknown>>,
): Effect.Effect<void> =>
  Effect.withFiberRuntime((fiber) =>
    LogLevel.greaterThanEqual(level, fiber.getFiberRef(FiberRef.currentMinimumLogLevel))
      ? Effect.annotateLogs(Effect.logWithLevel(level, message), annotations)
      : Effect.void,
  )

/** `logAtWith` at debug level. */
export const logDebugWith = (message: string, annotations: Readonly<Record<string, unknown>>): Effect.Effect<void> =>
  logAtWith(LogLevel.Debug, message, annotations)

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
