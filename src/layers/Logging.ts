import {
  Cause,
  Config,
  Context,
  Data,
  Effect,
  FiberId,
  FiberRef,
  FiberRefs,
  HashMap,
  Inspectable,
  Layer,
  List,
  Logger,
  LogLevel,
  Option,
  Tracer,
} from "effect"
import { writeLogLine } from "./logSink.js"

/** LOG_LEVEL or LOG_FORMAT holds a value we do not know; the message names it and the accepted ones. */
export class LogConfigError extends Data.TaggedError("LogConfigError")<{ readonly message: string }> {}

/** A log message as one string: strings as they are, anything else as JSON, joined by spaces. */
export const messageText = (message: unknown): string =>
  Array.isArray(message) ? message.map(partText).join(" ") : partText(message)

const partText = (part: unknown): string => {
  if (typeof part === "string") return part
  if (part instanceof Error) return part.message
  try {
    return JSON.stringify(Inspectable.toJSON(part)) ?? String(part)
  } catch {
    return String(part)
  }
}

/** Annotation values in text lines: quoted when they hold spaces, quotes or `=`. */
const renderValue = (value: unknown): string => {
  const text = partText(value)
  return typeof value === "string" && /[\s"=]/.test(text) ? JSON.stringify(text) : text
}

/** The current span's ids, when tracing is on (spans made without a tracer have no real ids). */
const traceIds = (context: FiberRefs.FiberRefs): { trace_id: string; span_id: string } | undefined => {
  const span = Context.getOption(FiberRefs.getOrDefault(context, FiberRef.currentContext), Tracer.ParentSpan)
  if (Option.isNone(span) || !/^[0-9a-f]{32}$/.test(span.value.traceId)) return undefined
  return { trace_id: span.value.traceId, span_id: span.value.spanId }
}

const toStderr = (level: LogLevel.LogLevel): boolean => LogLevel.greaterThanEqual(level, LogLevel.Warning)

/** One readable line per event: `12:00:00.123 INFO  message key=value ...`. */
const textLogger = Logger.make(({ logLevel, message, annotations, cause, date, spans, context }) => {
  const parts = [date.toISOString().slice(11, 23), logLevel.label.padEnd(5), messageText(message)]
  for (const [key, value] of HashMap.toEntries(annotations)) parts.push(`${key}=${renderValue(value)}`)
  for (const span of List.toArray(spans)) parts.push(`${span.label}=${date.getTime() - span.startTime}ms`)
  const ids = traceIds(context)
  if (ids !== undefined) parts.push(`trace_id=${ids.trace_id}`, `span_id=${ids.span_id}`)
  if (!Cause.isEmpty(cause)) parts.push(`cause=${JSON.stringify(Cause.pretty(cause))}`)
  writeLogLine(parts.join(" "), toStderr(logLevel))
})

/** JSON lines with Effect's fields; `message` is always a string, and trace ids join logs to traces. */
const jsonLogger = Logger.make(({ logLevel, message, annotations, cause, date, spans, context, fiberId }) => {
  const annotationsObject: Record<string, unknown> = {}
  for (const [key, value] of HashMap.toEntries(annotations)) annotationsObject[key] = Inspectable.toJSON(value)
  const spansObject: Record<string, number> = {}
  for (const span of List.toArray(spans)) spansObject[span.label] = date.getTime() - span.startTime
  const line = {
    message: messageText(message),
    logLevel: logLevel.label,
    timestamp: date.toISOString(),
    cause: Cause.isEmpty(cause) ? undefined : Cause.pretty(cause, { renderErrorCause: true }),
    annotations: annotationsObject,
    spans: spansObject,
    fiberId: FiberId.threadName(fiberId),
    ...traceIds(context),
  }
  writeLogLine(Inspectable.stringifyCircular(line), toStderr(logLevel))
})

/** LOG_LEVEL's accepted names. */
const levelsByName: Record<string, LogLevel.LogLevel> = {
  trace: LogLevel.Trace,
  debug: LogLevel.Debug,
  info: LogLevel.Info,
  warn: LogLevel.Warning,
  warning: LogLevel.Warning,
  error: LogLevel.Error,
  none: LogLevel.None,
}
const formats = ["text", "json"] as const

const refuse = (key: string, value: string, accepted: ReadonlyArray<string>) =>
  new LogConfigError({
    message: `${key}=${JSON.stringify(value)} is not known: use one of ${accepted.join(", ")} (e.g. ${key}=${accepted[0]}), or leave it unset`,
  })

/** Reads LOG_FORMAT and LOG_LEVEL; an unknown value is refused, an unset one is the default. */
const readLogSettings = Effect.gen(function* () {
  const read = (key: string) => Config.option(Config.string(key)).pipe(Effect.orElseSucceed(() => Option.none()))
  const format = Option.map(yield* read("LOG_FORMAT"), (value) => value.trim())
  const level = Option.map(yield* read("LOG_LEVEL"), (value) => value.trim())
  if (Option.isSome(format) && !(formats as ReadonlyArray<string>).includes(format.value.toLowerCase()))
    return yield* refuse("LOG_FORMAT", format.value, formats)
  if (Option.isSome(level) && levelsByName[level.value.toLowerCase()] === undefined)
    return yield* refuse("LOG_LEVEL", level.value, ["info", "debug", "warning", "error", "trace", "none"])
  return {
    json: Option.exists(format, (value) => value.toLowerCase() === "json"),
    level: Option.match(level, { onNone: () => LogLevel.Info, onSome: (v) => levelsByName[v.toLowerCase()] }),
  }
})

const loggerLayer = (json: boolean, level: LogLevel.LogLevel | undefined) =>
  Layer.merge(
    Logger.replace(Logger.defaultLogger, json ? jsonLogger : textLogger),
    Logger.minimumLogLevel(level ?? LogLevel.Info),
  )

/**
 * The logger and level, chosen once at start-up: JSON lines with `LOG_FORMAT=json`, readable text
 * otherwise; `LOG_LEVEL` (trace, debug, info, warning, error, none; default info). Values we do not
 * know fail the layer with one line that names them.
 */
export const layerFromEnv: Layer.Layer<never, LogConfigError> = Layer.unwrapEffect(
  Effect.map(readLogSettings, ({ json, level }) => loggerLayer(json, level)),
)

/** As layerFromEnv, but with text lines at info when the variables cannot be used (to report that). */
export const layerFromEnvOrText: Layer.Layer<never> = Layer.catchAll(layerFromEnv, () => loggerLayer(false, undefined))
