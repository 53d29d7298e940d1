import { createConnection } from "node:net"
import { Effect } from "effect"

/**
 * Whether something accepts TCP connections on `host:port`: a node answers whether or not it serves
 * /status (a plain spec node does not), so this is how the CLI tells a running node's folder.
 */
export const portAnswers = (port: number, host = "localhost") =>
  Effect.async<boolean>((resume) => {
    const socket = createConnection({ port, host })
    const done = (answered: boolean) => {
      socket.destroy()
      resume(Effect.succeed(answered))
    }
    socket.once("connect", () => done(true))
    socket.once("error", () => done(false))
    return Effect.sync(() => socket.destroy())
  }).pipe(Effect.timeoutTo({ duration: "1 second", onTimeout: () => false, onSuccess: (answered) => answered }))

/** The host to probe for a node listening on `host`: every interface includes loopback. */
export const probeHost = (host: string): string =>
  host === "0.0.0.0" || host === "::" || host === "[::]" || host === "" ? "localhost" : host
