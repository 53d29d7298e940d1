import { Context, Effect } from "effect"
import { TracePropagation } from "../services/TracePropagation.js"

/**
 * `Effect.withSpan` plus `Effect.annotateSpans`, only when this node exports traces (the Tracing
 * layer turns TracePropagation on with the exporter). Without an exporter the span is the effect
 * itself: a span nobody reads still costs a context, a stack trace and a dozen fiber steps, several
 * times per connection. No stack trace either way: it would name this module.
 */
export const traced =
  (
    name: string,
    options: { readonly attributes?: Record<string, unknown>; readonly annotate?: Record<string, unknown> } = {},
  ) =>
  <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    // Read from the fiber's context in one step (not a service lookup's three): it runs several times
    // per connection.
    Effect.withFiberRuntime((fiber) => {
      if (!Context.get(fiber.currentContext, TracePropagation)) return self
      const spanned = Effect.withSpan(self, name, {
        ...(options.attributes === undefined ? {} : { attributes: options.attributes }),
        captureStackTrace: false,
      })
      return options.annotate === undefined ? spanned : Effect.annotateSpans(spanned, options.annotate)
    })
