import { Schema, Tracer } from "effect"

/**
 * A W3C `traceparent` (`00-<32 hex trace id>-<16 hex span id>-<2 hex flags>`), carried beside `type`
 * and `data` in TRANSACTION messages so one transaction's spans on every node join one trace.
 * Plain spec nodes read only `type` and `data`, so they ignore it.
 */
export const Traceparent = Schema.String.pipe(
  Schema.pattern(/^00-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}$/),
  Schema.brand("Traceparent"),
)
export type Traceparent = typeof Traceparent.Type

/** The traceparent naming `span` as the parent of whatever the receiver does next. */
export const traceparentOf = (span: Tracer.AnySpan): Traceparent =>
  Traceparent.make(`00-${span.traceId}-${span.spanId}-${span.sampled ? "01" : "00"}`)

/** The remote span a traceparent names, to parent local spans on. */
export const remoteSpanOf = (traceparent: Traceparent): Tracer.ExternalSpan => {
  const [, traceId = "", spanId = "", flags = "00"] = traceparent.split("-")
  return Tracer.externalSpan({ traceId, spanId, sampled: (Number.parseInt(flags, 16) & 1) === 1 })
}
