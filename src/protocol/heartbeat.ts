import { Duration, Effect, Option } from "effect"
import type { Connection } from "../services/Transport.js"

/**
 * Watches a connection with WebSocket pings and completes once the peer goes silent: every half
 * `timeout` it pings, and a ping not answered within the other half ends the watch. So a peer that
 * stops answering (a frozen process, a half-open TCP connection) is noticed within `timeout`. Run it
 * beside the connection's reader and close the connection when it completes: that ends the reader.
 */
export const untilSilent = (connection: Connection, timeout: Duration.DurationInput) => {
  const half = Duration.times(Duration.decode(timeout), 0.5)
  return connection.ping.pipe(
    Effect.timeoutOption(half),
    Effect.delay(half),
    Effect.repeat({ while: Option.isSome }),
    Effect.andThen(
      Effect.logWarning("peer silent: no pong; dropping the connection").pipe(
        Effect.annotateLogs({ timeoutMillis: Duration.toMillis(timeout) }),
      ),
    ),
  )
}
