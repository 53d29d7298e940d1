import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Scope } from "effect"
import { acquireReleaseNow } from "../src/domain/acquireNow.js"

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
