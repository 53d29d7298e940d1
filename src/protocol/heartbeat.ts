import { Duration, Effect, FiberRef, type HashMap, type Scope } from "effect"
import type { Connection } from "../services/Transport.js"

/** One watched connection: whether it was pinged at the last beat, and whether its pong has come. */
interface Watch {
  readonly connection: Connection
  /** The log annotations of the connection's fiber, for its warning line. */
  readonly annotations: HashMap.HashMap<string, unknown>
  pinged: boolean
  answered: boolean
}

/**
 * Watches connections with WebSocket pings and closes those whose peer goes silent: every half
 * `timeout` it pings each watched connection, and one that has not answered the previous ping by then
 * is closed. So a peer that stops answering (a frozen process, a half-open TCP connection) is noticed
 * within `timeout`; closing the connection ends its reader. One fiber per node beats for all its
 * connections, with plain calls: a connection costs a registration, not a fiber and a timeout race
 * per ping.
 */
export const makeHeartbeat = (timeout: Duration.DurationInput) =>
  Effect.gen(function* () {
    const half = Duration.times(Duration.decode(timeout), 0.5)
    const timeoutMillis = Duration.toMillis(timeout)
    const watched = new Set<Watch>()

    const dropSilent = (watch: Watch) =>
      Effect.logWarning("peer silent: no pong; dropping the connection").pipe(
        Effect.annotateLogs({ timeoutMillis }),
        Effect.locally(FiberRef.currentLogAnnotations, watch.annotations),
        Effect.zipRight(watch.connection.close),
      )

    const beat = Effect.suspend(() => {
      const silent: Array<Watch> = []
      for (const watch of watched) {
        if (watch.pinged && !watch.answered) {
          watched.delete(watch)
          silent.push(watch)
          continue
        }
        watch.pinged = true
        watch.answered = false
        watch.connection.unsafePing(() => {
          watch.answered = true
        })
      }
      return silent.length === 0 ? Effect.void : Effect.forEach(silent, dropSilent, { discard: true })
    })
    yield* Effect.forkScoped(Effect.forever(Effect.zipRight(Effect.sleep(half), beat)))

    /** Watches `connection` until the scope closes; its silence closes it, with a warning in its fiber's log context. */
    const watch = (connection: Connection): Effect.Effect<void, never, Scope.Scope> =>
      Effect.flatMap(FiberRef.get(FiberRef.currentLogAnnotations), (annotations) =>
        Effect.acquireRelease(
          Effect.sync(() => {
            const watch: Watch = { connection, annotations, pinged: false, answered: false }
            watched.add(watch)
            return watch
          }),
          (watch) =>
            Effect.sync(() => {
              watched.delete(watch)
            }),
        ),
      )

    return { watch }
  })

export type Heartbeat = Effect.Effect.Success<ReturnType<typeof makeHeartbeat>>
