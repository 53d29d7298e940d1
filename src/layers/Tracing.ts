import * as OtlpSerialization from "@effect/opentelemetry/OtlpSerialization"
import * as OtlpTracer from "@effect/opentelemetry/OtlpTracer"
import { FetchHttpClient } from "@effect/platform"
import { Config, ConfigProvider, Data, Duration, Effect, Layer, Option } from "effect"
import { TracePropagation } from "../services/TracePropagation.js"
import { describeConfigError } from "./configErrors.js"

/** A tracing variable that cannot be used; the message names it. */
export class TracingConfigError extends Data.TaggedError("TracingConfigError")<{ readonly message: string }> {}

/** Where spans go: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` as is, or `OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/traces`. */
const tracesUrl = Effect.gen(function* () {
  const nonEmpty = (name: string) =>
    Config.option(Config.string(name)).pipe(Config.map(Option.filter((value) => value.trim() !== "")))
  const traces = yield* nonEmpty("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
  const base = yield* nonEmpty("OTEL_EXPORTER_OTLP_ENDPOINT")
  return Option.orElse(traces, () => Option.map(base, (url) => `${url.replace(/\/+$/, "")}/v1/traces`))
})

/**
 * Tracing, chosen once at start-up. With an OTLP endpoint set, spans are exported over OTLP/HTTP
 * (JSON) and TRANSACTION messages carry the trace context to the next node. Without one, nothing
 * is exported and the frames stay exactly the spec's. `instance` names this node in the backend.
 */
export const layer = (instance: string): Layer.Layer<TracePropagation, TracingConfigError> =>
  Layer.unwrapEffect(
    Effect.gen(function* () {
      const url = yield* tracesUrl
      // Nothing reads the spans: do not make them (a span per frame costs a stack trace and more).
      if (Option.isNone(url)) return Layer.merge(Layer.succeed(TracePropagation, false), Layer.setTracerEnabled(false))
      const serviceName = yield* Config.string("OTEL_SERVICE_NAME").pipe(Config.withDefault("meshnode"))
      // The OpenTelemetry variable for how often a batch of spans is sent, in milliseconds.
      const delay = yield* Config.integer("OTEL_BSP_SCHEDULE_DELAY").pipe(Config.withDefault(5000))
      yield* Effect.logDebug("exporting traces").pipe(Effect.annotateLogs({ url: url.value }))
      const tracer = OtlpTracer.layer({
        url: url.value,
        resource: { serviceName, attributes: { "service.instance.id": instance } },
        exportInterval: Duration.millis(delay),
        // What is still buffered when the process ends gets this long to be sent (the library's 3 s
        // lost the CLI's one span on a busy machine).
        shutdownTimeout: Duration.seconds(10),
      }).pipe(Layer.provide(OtlpSerialization.layerJson), Layer.provide(FetchHttpClient.layer))
      return Layer.merge(tracer, Layer.succeed(TracePropagation, true))
    }).pipe(
      Effect.catchTag("ConfigError", (error) =>
        Effect.flatMap(
          describeConfigError(error, "the environment", ConfigProvider.fromEnv()),
          (message) => new TracingConfigError({ message }),
        ),
      ),
    ),
  )
