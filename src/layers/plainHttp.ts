import type { IncomingMessage, ServerResponse } from "node:http"
import { Effect, Option, Runtime } from "effect"
import { HttpHandler } from "../services/HttpHandler.js"

/**
 * The node:http listener for requests that do not ask for a WebSocket upgrade: the HttpHandler when
 * one is provided, otherwise 426 as before. Upgrades never come here.
 */
export const makePlainHttpListener = Effect.gen(function* () {
  const handler = yield* Effect.serviceOption(HttpHandler)
  const runFork = Runtime.runFork(yield* Effect.runtime<never>())
  return (request: IncomingMessage, response: ServerResponse): void => {
    // A body is never read; drain it so the connection can be reused.
    request.resume()
    if (Option.isNone(handler)) {
      response.writeHead(426, { "content-type": "text/plain" }).end("meshnode: connect with a WebSocket\n")
      return
    }
    runFork(
      handler.value.handle({ method: request.method ?? "GET", url: request.url ?? "/" }).pipe(
        Effect.catchAllCause((cause) =>
          Effect.as(Effect.logWarning("http handler failed", cause), {
            status: 500,
            headers: { "content-type": "text/plain" },
            body: "internal error\n",
          }),
        ),
        Effect.flatMap(({ status, headers, body }) =>
          Effect.sync(() => {
            if (!response.headersSent) response.writeHead(status, headers)
            response.end(body)
          }),
        ),
      ),
    )
  }
})
