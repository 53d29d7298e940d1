import type { LookupAddress, LookupOptions } from "node:dns"
import type { LookupFunction } from "node:net"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { makeHostLookup } from "../src/layers/hostLookup.js"

type Answer = {
  readonly error: NodeJS.ErrnoException | null
  readonly address: unknown
  readonly family: number | undefined
}

/** One call of `lookup`, its callback's arguments as the answer. */
const ask = (lookup: LookupFunction, hostname: string, options: LookupOptions) =>
  Effect.async<Answer>((resume) => {
    lookup(hostname, options, (error, address, family) => resume(Effect.succeed({ error, address, family })))
  })

/** A resolver whose answers the test gives by hand, and a record of what it was asked. */
const makeFakeResolver = () => {
  const asked: Array<{ hostname: string; options: LookupOptions }> = []
  const waiting: Array<(error: NodeJS.ErrnoException | null, addresses: Array<LookupAddress>) => void> = []
  return {
    asked,
    resolve: (
      hostname: string,
      options: LookupOptions & { all: true },
      callback: (error: NodeJS.ErrnoException | null, addresses: Array<LookupAddress>) => void,
    ) => {
      asked.push({ hostname, options })
      waiting.push(callback)
    },
    /** Answers the oldest question still open. */
    answer: (error: NodeJS.ErrnoException | null, addresses: Array<LookupAddress> = []) =>
      Effect.sync(() => waiting.shift()?.(error, addresses)),
  }
}

const localhost: Array<LookupAddress> = [
  { address: "127.0.0.1", family: 4 },
  { address: "::1", family: 6 },
]

describe("the dialler's host lookup (TransportWs)", () => {
  it.effect("asks once for lookups under way at once, and answers both forms net.connect uses", () =>
    Effect.gen(function* () {
      const resolver = makeFakeResolver()
      const lookup = makeHostLookup({ resolve: resolver.resolve })
      const all = yield* Effect.fork(ask(lookup, "localhost", { all: true, hints: 32 }))
      const one = yield* Effect.fork(ask(lookup, "localhost", { hints: 32 }))
      yield* Effect.yieldNow()
      expect(resolver.asked).toEqual([{ hostname: "localhost", options: { hints: 32, all: true } }])
      yield* resolver.answer(null, localhost)
      expect(yield* all.await.pipe(Effect.flatten)).toEqual({ error: null, address: localhost, family: undefined })
      expect(yield* one.await.pipe(Effect.flatten)).toEqual({ error: null, address: "127.0.0.1", family: 4 })
    }),
  )

  it.effect("reuses an answer until it expires, then asks again; other options are other entries", () =>
    Effect.gen(function* () {
      const resolver = makeFakeResolver()
      let clock = 0
      const lookup = makeHostLookup({ resolve: resolver.resolve, now: () => clock, ttlMillis: 1_000 })
      const first = yield* Effect.fork(ask(lookup, "localhost", { all: true }))
      yield* Effect.yieldNow()
      yield* resolver.answer(null, localhost)
      yield* first.await
      clock = 999
      expect(yield* ask(lookup, "localhost", {})).toEqual({ error: null, address: "127.0.0.1", family: 4 })
      expect(resolver.asked.length).toBe(1)
      // Another family is another question.
      const v6 = yield* Effect.fork(ask(lookup, "localhost", { family: 6 }))
      yield* Effect.yieldNow()
      expect(resolver.asked.length).toBe(2)
      yield* resolver.answer(null, [{ address: "::1", family: 6 }])
      expect(yield* v6.await.pipe(Effect.flatten)).toEqual({ error: null, address: "::1", family: 6 })
      clock = 1_000
      const expired = yield* Effect.fork(ask(lookup, "localhost", { all: true }))
      yield* Effect.yieldNow()
      expect(resolver.asked.length).toBe(3)
      yield* resolver.answer(null, localhost)
      yield* expired.await
    }),
  )

  it.effect("a failure reaches every waiting dial and is not remembered", () =>
    Effect.gen(function* () {
      const resolver = makeFakeResolver()
      const lookup = makeHostLookup({ resolve: resolver.resolve })
      const notFound = Object.assign(new Error("getaddrinfo ENOTFOUND nowhere"), { code: "ENOTFOUND" })
      const a = yield* Effect.fork(ask(lookup, "nowhere", { all: true }))
      const b = yield* Effect.fork(ask(lookup, "nowhere", {}))
      yield* Effect.yieldNow()
      yield* resolver.answer(notFound)
      expect((yield* a.await.pipe(Effect.flatten)).error).toBe(notFound)
      expect((yield* b.await.pipe(Effect.flatten)).error).toBe(notFound)
      const again = yield* Effect.fork(ask(lookup, "nowhere", {}))
      yield* Effect.yieldNow()
      expect(resolver.asked.length).toBe(2)
      yield* resolver.answer(null, localhost)
      expect(yield* again.await.pipe(Effect.flatten)).toEqual({ error: null, address: "127.0.0.1", family: 4 })
    }),
  )

  it.effect("resolves a real name like dns.lookup does", () =>
    Effect.gen(function* () {
      const lookup = makeHostLookup()
      const answer = yield* ask(lookup, "localhost", { all: true })
      expect(answer.error).toBeNull()
      expect(Array.isArray(answer.address) && answer.address.length > 0).toBe(true)
    }),
  )
})
