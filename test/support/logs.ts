import { Effect, HashMap, Layer, Logger, LogLevel, Option, Stream, SubscriptionRef } from "effect"

/** One log line as a test sees it. */
export interface CapturedLog {
  readonly level: string
  readonly message: string
  readonly annotations: Readonly<Record<string, unknown>>
}

const renderMessage = (message: unknown): string =>
  Array.isArray(message) ? message.map(String).join(" ") : String(message)

/**
 * Records every log line (debug and up) of the effect it is provided to, including the node's
 * connection fibers started inside it. `waitFor` waits for a matching line, now or later.
 */
export const makeLogCapture = Effect.gen(function* () {
  const lines = yield* SubscriptionRef.make<ReadonlyArray<CapturedLog>>([])
  const logger = Logger.make<unknown, void>(({ logLevel, message, annotations }) => {
    const line = {
      level: logLevel.label,
      message: renderMessage(message),
      annotations: Object.fromEntries(HashMap.toEntries(annotations)),
    }
    Effect.runSync(SubscriptionRef.update(lines, (all) => [...all, line]))
  })
  return {
    layer: Layer.merge(Logger.replace(Logger.defaultLogger, logger), Logger.minimumLogLevel(LogLevel.Debug)),
    lines: SubscriptionRef.get(lines),
    /** Lines whose message is `message`. */
    named: (message: string) =>
      Effect.map(SubscriptionRef.get(lines), (all) => all.filter((line) => line.message === message)),
    /** Waits until at least `count` lines match. */
    waitForCount: (predicate: (line: CapturedLog) => boolean, count: number) =>
      lines.changes.pipe(
        Stream.map((all) => all.filter(predicate)),
        Stream.filter((matching) => matching.length >= count),
        Stream.runHead,
        Effect.map(Option.getOrThrow),
      ),
    waitFor: (predicate: (line: CapturedLog) => boolean) =>
      lines.changes.pipe(
        Stream.map((all) => all.find(predicate)),
        Stream.filter((line): line is CapturedLog => line !== undefined),
        Stream.runHead,
        Effect.map(Option.getOrThrow),
      ),
  }
})

export type LogCapture = Effect.Effect.Success<typeof makeLogCapture>

/** Runs `body` with its log lines captured. */
export const withLogs = <A, E, R>(body: (logs: LogCapture) => Effect.Effect<A, E, R>) =>
  Effect.flatMap(makeLogCapture, (logs) => Effect.provide(body(logs), logs.layer))
