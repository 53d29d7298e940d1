import type { Duplex } from "node:stream"
import { Effect, Option, Runtime } from "effect"
import type { DoorRefusal, DoorVerdict } from "../domain/ipAdmission.js"
import { Admission } from "../services/Admission.js"

/** The HTTP status of each refusal at the door, and the seconds a client should wait. */
const refusalStatus: Readonly<Record<DoorRefusal, readonly [status: string, retryAfter: number]>> = {
  banned: ["429 Too Many Requests", 600],
  "too many new connections": ["429 Too Many Requests", 60],
  "too many connections": ["503 Service Unavailable", 10],
}

/** Answers a refused upgrade request with a plain HTTP status and closes the socket. */
export const refuseUpgrade = (socket: Duplex, reason: DoorRefusal): void => {
  const [status, retryAfter] = refusalStatus[reason]
  const body = `meshnode: connection refused: ${reason}\n`
  socket.end(
    `HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Type: text/plain\r\nRetry-After: ${retryAfter}\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  )
  // A client that never reads the answer must not hold the socket.
  setTimeout(() => socket.destroy(), 1_000).unref()
}

const admitAll: DoorVerdict = { _tag: "Admitted" }

/**
 * The Admission service as plain calls for the upgrade handler (a node:http callback), run on the
 * listener's runtime. Without an Admission service (tests, the CLI) every connection is admitted.
 */
export const makeDoor = Effect.gen(function* () {
  const admission = yield* Effect.serviceOption(Admission)
  const runSync = Runtime.runSync(yield* Effect.runtime<never>())
  return Option.match(admission, {
    onNone: () => ({
      admit: (_ip: string | undefined): DoorVerdict => admitAll,
      release: (_ip: string | undefined) => {},
    }),
    onSome: (admission) => ({
      admit: (ip: string | undefined) => runSync(admission.admit(ip)),
      release: (ip: string | undefined) => runSync(admission.release(ip)),
    }),
  })
})
