import { Effect } from "effect"

/** Lets the event loop run (sockets write and read) before the test goes on. */
export const nextTurn = Effect.async<void>((resume) => {
  const handle = setImmediate(() => resume(Effect.void))
  return Effect.sync(() => clearImmediate(handle))
})
