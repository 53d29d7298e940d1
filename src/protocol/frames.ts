import { Effect, Option, Stream } from "effect"
import type { Address } from "../domain/Address.js"
import { NodeStats } from "../services/NodeStats.js"
import type { Connection, Frame } from "../services/Transport.js"
import { type FrameGuard, makeFrameGuard } from "./frameGuard.js"
import { onTransaction } from "./gossip.js"
import { onHandshake } from "./handshake.js"
import type { ConnectionLink } from "./links.js"
import { onSync, type Reply } from "./sync.js"

/**
 * One incoming frame, from the connection's guard to the handler of its message type. The guard logs
 * and drops whatever is not a message; a bad frame never ends the node. `reply` sends on the
 * connection the frame came in on (the sync exchange answers there); `link` is what the node knows of
 * the peer on it (who relays what: links.ts).
 */
export const receiveFrame = (
  frame: Frame,
  dial: (address: Address) => Effect.Effect<void>,
  reply: Reply,
  guard: FrameGuard,
  link: ConnectionLink,
) =>
  Effect.flatMap(guard.admit(frame), (decoded) => {
    if (Option.isNone(decoded)) return Effect.void
    const message = decoded.value
    const handled =
      message.type === "HANDSHAKE"
        ? onHandshake(message, dial)
        : message.type === "TRANSACTION"
          ? onTransaction(message, link.relay)
          : message.type === "PEERS"
            ? link.onPeers(message)
            : onSync(message, reply)
    return Effect.flatMap(NodeStats, (stats) => stats.messageReceived(message.type)).pipe(
      Effect.zipRight(handled),
      Effect.annotateLogs({ type: message.type }),
    )
  })

/** Handles a connection's frames until it closes, or closes it once the peer has sent too many bad frames. */
export const serveFrames = (
  connection: Connection,
  dial: (address: Address) => Effect.Effect<void>,
  link: ConnectionLink,
) =>
  Effect.gen(function* () {
    const guard = yield* makeFrameGuard
    yield* Stream.runForEach(connection.frames, (frame) => receiveFrame(frame, dial, connection.send, guard, link))
  }).pipe(
    Effect.catchTag("TooManyBadFrames", (error) =>
      Effect.logWarning("peer disconnected: too many bad frames").pipe(
        Effect.annotateLogs({ limit: error.limit }),
        Effect.andThen(connection.close),
      ),
    ),
  )
