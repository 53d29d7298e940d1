import { Context, type Effect } from "effect"

/** A plain (non-WebSocket) HTTP request that reached a node's port. */
export interface PlainRequest {
  readonly method: string
  /** The path and query, as sent (`/status?x=1`). */
  readonly url: string
}

export interface PlainResponse {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
}

/**
 * Answers plain HTTP on the node's own port, beside the WebSocket protocol. Optional: a transport
 * without one answers 426 (upgrade required), as the spec's nodes do.
 */
export class HttpHandler extends Context.Tag("meshnode/HttpHandler")<
  HttpHandler,
  { readonly handle: (request: PlainRequest) => Effect.Effect<PlainResponse> }
>() {}
