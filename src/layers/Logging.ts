import { Cause, Config, Effect, HashMap, Layer, List, Logger, LogLevel } from "effect"

/** One readable line per event: `12:00:00.123 INFO  message key=value ...`. */
export const textLogger = Logger.make(({ logLevel, message, annotations, cause, date, spans }) => {
  const parts = [date.toISOString().slice(11, 23), logLevel.label.padEnd(5), renderMessage(message)]
  for (const [key, value] of HashMap.toEntries(annotations)) parts.push(`${key}=${renderValue(value)}`)
  for (const span of List.toArray(spans)) parts.push(`${span.label}=${date.getTime() - span.startTime}ms`)
  if (!Cause.isEmpty(cause)) parts.push(`cause=${JSON.stringify(Cause.pretty(cause))}`)
  globalThis.console.log(parts.join(" "))
})

const renderMessage = (message: unknown): string =>
  Array.isArray(message) ? message.map(renderValue).join(" ") : renderValue(message)

const renderValue = (value: unknown): string => {
  const text = typeof value === "string" ? value : (JSON.stringify(value) ?? String(value))
  return /[\s"=]/.test(text) && typeof value === "string" ? JSON.stringify(text) : text
}

/** LOG_LEVEL's accepted names; an unknown one means the default, info. */
const levelsByName: Record<string, LogLevel.LogLevel> = {
  trace: LogLevel.Trace,
  debug: LogLevel.Debug,
  info: LogLevel.Info,
  warn: LogLevel.Warning,
  warning: LogLevel.Warning,
  error: LogLevel.Error,
  none: LogLevel.None,
}

/**
 * The logger and level, chosen once at start-up: JSON lines with `LOG_FORMAT=json`, readable text
 * otherwise; `LOG_LEVEL` (debug, info, warning, error; default info).
 */
export const layerFromEnv = Layer.unwrapEffect(
  Effect.gen(function* () {
    const format = yield* Config.literal("json", "text")("LOG_FORMAT").pipe(Config.withDefault("text"))
    const level = yield* Config.string("LOG_LEVEL").pipe(
      Config.map((name) => levelsByName[name.toLowerCase()]),
      Config.withDefault(LogLevel.Info),
    )
    const logger = format === "json" ? Logger.json : Logger.replace(Logger.defaultLogger, textLogger)
    return Layer.merge(logger, Logger.minimumLogLevel(level ?? LogLevel.Info))
  }).pipe(Effect.orElseSucceed(() => Logger.replace(Logger.defaultLogger, textLogger))),
)
