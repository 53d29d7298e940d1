import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Option, Scope, TestClock } from "effect"
import { makeHeartbeat } from "../src/protocol/heartbeat.js"
import type { Connection } from "../src/services/Transport.js"
import { withLogs } from "./support/logs.js"

/** A connection that only pings: it answers while `answering` is set, and records whether it was closed. */
const makeQuietConnection = (remote: string) => {
  const state = { answering: true, closed: false, pings: 0 }
  const connection: Connection = {
    remote,
    receive: Effect.succeed(Option.none()),
    send: () => Effect.void,
    close: Effect.sync(() => {
      state.closed = true
    }),
    unsafePing: (onPong) => {
      state.pings++
      if (state.answering) onPong()
    },
    stoppedReading: () => false,
  }
  return { connection, state }
}

describe("the heartbeat (one fiber per node)", () => {
  it.scoped(
    "pings every half timeout; a connection that misses a pong is closed at the next beat, with its own log context",
    () =>
      withLogs((logs) =>
        Effect.gen(function* () {
          const heartbeat = yield* makeHeartbeat("10 seconds")
          const lively = makeQuietConnection("lively")
          const quiet = makeQuietConnection("quiet")
          yield* heartbeat.watch(lively.connection).pipe(Effect.annotateLogs({ peer: "lively" }))
          yield* heartbeat.watch(quiet.connection).pipe(Effect.annotateLogs({ peer: "quiet" }))
          yield* TestClock.adjust("4999 millis")
          expect([lively.state.pings, quiet.state.pings]).toEqual([0, 0])
          yield* TestClock.adjust("1 millis")
          expect([lively.state.pings, quiet.state.pings]).toEqual([1, 1])
          quiet.state.answering = false
          yield* TestClock.adjust("5 seconds")
          expect(quiet.state.closed).toBe(false)
          yield* TestClock.adjust("5 seconds")
          expect(quiet.state.closed).toBe(true)
          expect(lively.state.closed).toBe(false)
          expect(lively.state.pings).toBe(3)
          const [line] = yield* logs.named("peer silent: no pong; dropping the connection")
          expect(line?.annotations).toMatchObject({ peer: "quiet", timeoutMillis: 10_000 })
          // A closed connection is no longer watched.
          yield* TestClock.adjust("10 seconds")
          expect(quiet.state.pings).toBe(2)
        }),
      ),
  )

  it.scoped("a connection is watched only while its scope is open", () =>
    Effect.gen(function* () {
      const heartbeat = yield* makeHeartbeat("2 seconds")
      const { connection, state } = makeQuietConnection("short-lived")
      const scope = yield* Scope.make()
      yield* Scope.extend(heartbeat.watch(connection), scope)
      yield* TestClock.adjust("1 second")
      expect(state.pings).toBe(1)
      yield* Scope.close(scope, Exit.void)
      state.answering = false
      yield* TestClock.adjust("5 seconds")
      expect(state).toEqual({ answering: false, closed: false, pings: 1 })
    }),
  )

  it.scoped(
    "says whether a peer still answered: yes until a ping goes unanswered, never for one that never answered",
    () =>
      Effect.gen(function* () {
        const heartbeat = yield* makeHeartbeat("10 seconds")
        const lively = makeQuietConnection("lively")
        const deaf = makeQuietConnection("deaf")
        deaf.state.answering = false
        const livelyWatch = yield* heartbeat.watch(lively.connection)
        const deafWatch = yield* heartbeat.watch(deaf.connection)
        // No ping yet: nothing is known against either.
        expect([yield* livelyWatch.answering, yield* deafWatch.answering]).toEqual([true, true])
        yield* TestClock.adjust("5 seconds")
        expect([yield* livelyWatch.answering, yield* deafWatch.answering]).toEqual([true, false])
        // The lively one stops answering: the ping before still counts until the next beat.
        lively.state.answering = false
        yield* TestClock.adjust("5 seconds")
        expect(yield* livelyWatch.answering).toBe(true)
        yield* TestClock.adjust("5 seconds")
        expect(yield* livelyWatch.answering).toBe(false)
      }),
  )
})
