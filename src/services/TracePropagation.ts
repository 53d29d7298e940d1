import { Context } from "effect"

/**
 * Whether this node adds its trace context to the TRANSACTION messages it forwards. Off by default,
 * so a node without a tracing backend sends exactly the spec's frames; the Tracing layer turns it on.
 */
export class TracePropagation extends Context.Reference<TracePropagation>()("meshnode/TracePropagation", {
  defaultValue: () => false,
}) {}
