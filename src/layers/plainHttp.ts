import type { IncomingMessage, ServerResponse } from "node:http"
import { Effect, Option, Runtime } from "effect"
import { ipKey, makeIpBuckets } from "../domain/ipBuckets.js"
import { DoorLimits } from "../services/Admission.js"
import { HttpHandler, type PlainResponse } from "../services/HttpHandler.js"

const plain = (status: number, body: string, extra: Readonly<Record<string, string>> = {}): PlainResponse => ({
  status,
  headers: { "content-type": "text/plain", ...extra },
  body,
})

const tooManyRequests = plain(429, "too many requests: slow down\n", { "retry-after": "1" })
/** How late a 429 is sent, and how many may wait at once. */
const refusalDelayMillis = 1_000
const maxHeld = 256

const busy = plain(503, "busy: try again shortly\n", { "retry-after": "1" })

const write = (response: ServerResponse, { status, headers, body }: PlainResponse) => {
  if (!response.headersSent) response.writeHead(status, headers)
  response.end(body)
}

/**
 * The node:http listener for requests that do not ask for a WebSocket upgrade: the HttpHandler when
 * one is provided, otherwise 426 as before. Upgrades never come here. Every IP shares one request
 * budget (429 past it) and only so many requests are answered at once (503 past that), so plain HTTP
 * cannot crowd out the gossip.
 */
export const makePlainHttpListener = Effect.gen(function* () {
  const handler = yield* Effect.serviceOption(HttpHandler)
  const limits = yield* DoorLimits
  const clock = yield* Effect.clock
  const runFork = Runtime.runFork(yield* Effect.runtime<never>())
  const budgets = makeIpBuckets({ capacity: limits.httpRequestBurst, perSecond: limits.httpRequestsPerSecond })
  let inFlight = 0
  let held = 0
  /**
   * Past its budget a client gets its 429 a second late, so a flood on a few keep-alive sockets
   * slows itself down instead of the node; past `maxHeld` waiting, at once and the socket is closed.
   */
  const refuse = (response: ServerResponse) => {
    if (held >= maxHeld) {
      response.shouldKeepAlive = false
      return write(response, tooManyRequests)
    }
    held++
    setTimeout(() => {
      held--
      write(response, tooManyRequests)
    }, refusalDelayMillis).unref()
  }
  return (request: IncomingMessage, response: ServerResponse): void => {
    // A body is never read; drain it so the connection can be reused.
    request.resume()
    if (Option.isNone(handler)) {
      response.writeHead(426, { "content-type": "text/plain" }).end("meshnode: connect with a WebSocket\n")
      return
    }
    if (!budgets.take(ipKey(request.socket.remoteAddress), clock.unsafeCurrentTimeMillis())) {
      refuse(response)
      return
    }
    if (inFlight >= limits.httpInFlight) {
      write(response, busy)
      return
    }
    inFlight++
    const answer = handler.value.handle({ method: request.method ?? "GET", url: request.url ?? "/" }).pipe(
      Effect.catchAllCause((cause) =>
        Effect.as(Effect.logWarning("http handler failed", cause), plain(500, "internal error\n")),
      ),
      Effect.flatMap((answer) => Effect.sync(() => write(response, answer))),
      Effect.ensuring(Effect.sync(() => inFlight--)),
    )
    // Gossip keeps priority: the request is answered after the I/O already waiting (peers' frames) ran.
    setImmediate(() => runFork(answer))
  }
})
