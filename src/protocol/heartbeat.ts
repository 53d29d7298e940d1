import { Duration, Effect, FiberRef, type HashMap, type Scope } from "effect"
import type { Connection } from "../services/Transport.js"

/** One watched connection: whether it was pinged at the last beat, and whether its pong has come. */
interface Watch {
  readonly connection: Connection
  /** The log annotations of the connection's fiber, for its warning line. */
  readonly annotations: HashMap.HashMap<string, unknown>
  pinged: boolean
  answered: boolean
  /** The beat when the connection was first watched. */
  readonly sinceBeat: number
  /** The beat whose ping the peer last answered (0: none yet). */
  answeredBeat: number
}

/**
 * Whether the peer of `watch` still answered pings after `beats` beats: it answered the last ping or the
 * one before, or no ping has gone to it yet (nothing is known against it: a short connection, or a long
 * heartbeat timeout).
 */
const isAnswering = (watch: Watch, beats: number): boolean =>
  beats === watch.sinceBeat || (watch.answeredBeat > 0 && watch.answeredBeat >= beats - 1)

/** A watched connection, as its owner sees it. */
export interface Watched {
  /**
   * Whether the peer still answered pings: it answered the last beat's ping or the one before (within
   * the timeout), or none has been sent to it yet. False for a peer that never answered one (it does
   * not read what we send), or that went silent.
   */
  readonly answering: Effect.Effect<boolean>
}

/**
 * One beat: each watched connection whose last ping went unanswered leaves `watched` and is returned
 * (silent); every other one is pinged, its pong noted as an answer to `beat`.
 */
const pingAll = (watched: Set<Watch>, beat: number): Array<Watch> => {
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
      watch.answeredBeat = beat
    })
  }
  return silent
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
    let beats = 0

    const dropSilent = (watch: Watch) =>
      Effect.logWarning("peer silent: no pong; dropping the connection").pipe(
        Effect.annotateLogs({ timeoutMillis }),
        Effect.locally(FiberRef.currentLogAnnotations, watch.annotations),
        Effect.zipRight(watch.connection.close),
      )

    const beat = Effect.suspend(() => {
      const silent = pingAll(watched, ++beats)
      return silent.length === 0 ? Effect.void : Effect.forEach(silent, dropSilent, { discard: true })
    })
    yield* Effect.forkScoped(Effect.forever(Effect.zipRight(Effect.sleep(half), beat)))

    /** Watches `connection` until the scope closes; its silence closes it, with a warning in its fiber's log context. */
    const watch = (connection: Connection): Effect.Effect<Watched, never, Scope.Scope> =>
      Effect.flatMap(FiberRef.get(FiberRef.currentLogAnnotations), (annotations) =>
        Effect.acquireRelease(
          Effect.sync(() => {
            const watch: Watch = {
              connection,
              annotations,
              pinged: false,
              answered: false,
              sinceBeat: beats,
              answeredBeat: 0,
            }
            watched.add(watch)
            return watch
          }),
          (watch) =>
            Effect.sync(() => {
              watched.delete(watch)
            }),
        ).pipe(
          Effect.map(
            (watch): Watched => ({
              answering: Effect.sync(() => isAnswering(watch, beats)),
            }),
          ),
        ),
      )

    return { watch }
  })

export type Heartbeat = Effect.Effect.Success<ReturnType<typeof makeHeartbeat>>
