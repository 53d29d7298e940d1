import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Scope } from "effect"
import { acquireReleaseNow } from "../src/domain/acquireNow.js"
import { forEachDiscard } from "../src/domain/forEachDiscard.js"

describe("acquireReleaseNow", () => {
  it.effect("acquires at once and releases what it acquired when the scope closes, in reverse order", () =>
    Effect.gen(function* () {
      const events: Array<string> = []
      const scope = yield* Scope.make()
      const take = (name: string) =>
        acquireReleaseNow(
          () => {
            events.push(`acquire ${name}`)
            return name
          },
          (acquired) => Effect.sync(() => events.push(`release ${acquired}`)),
        )
      expect(yield* Scope.extend(take("a"), scope)).toBe("a")
      yield* Scope.extend(take("b"), scope)
      expect(events).toEqual(["acquire a", "acquire b"])
      yield* Scope.close(scope, Exit.void)
      expect(events).toEqual(["acquire a", "acquire b", "release b", "release a"])
    }),
  )

  it.effect("in a scope already closed, what it acquires is released at once", () =>
    Effect.gen(function* () {
      const events: Array<string> = []
      const scope = yield* Scope.make()
      yield* Scope.close(scope, Exit.void)
      yield* Scope.extend(
        acquireReleaseNow(
          () => events.push("acquire"),
          () => Effect.sync(() => events.push("release")),
        ),
        scope,
      )
      expect(events).toEqual(["acquire", "release"])
    }),
  )
})

describe("forEachDiscard", () => {
  it.effect("runs the effect of each item in order, none for no items, and fails with the first failure", () =>
    Effect.gen(function* () {
      for (const items of [[], [1], [1, 2, 3]]) {
        const seen: Array<number> = []
        yield* forEachDiscard(items, (item) => Effect.sync(() => seen.push(item)))
        expect(seen).toEqual(items)
      }
      const seen: Array<number> = []
      const failed = yield* Effect.flip(
        forEachDiscard([1, 2, 3], (item) => (item === 2 ? Effect.fail("two") : Effect.sync(() => seen.push(item)))),
      )
      expect([failed, seen]).toEqual(["two", [1]])
    }),
  )
})
