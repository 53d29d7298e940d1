import { Effect, Either } from "effect"
import type { Address } from "../domain/Address.js"
import { decodeFrame } from "../domain/Message.js"
import { NodeStats } from "../services/NodeStats.js"
import type { Frame } from "../services/Transport.js"
import { onTransaction } from "./gossip.js"
import { onHandshake } from "./handshake.js"
import type { ConnectionLink } from "./links.js"
import { onSync, type Reply } from "./sync.js"

/**
 * One incoming frame, from decoding to the handler of its message type. A frame that does not
 * decode is logged with its reason and dropped; it never ends the connection or the node. `reply`
 * sends on the connection the frame came in on (the sync exchange answers there); `link` is what the
 * node knows of the peer on it (who relays what: links.ts).
 */
export const receiveFrame = (
  frame: Frame,
  dial: (address: Address) => Effect.Effect<void>,
  reply: Reply,
  link: ConnectionLink,
) => {
  const decoded = decodeFrame(frame)
  if (Either.isLeft(decoded)) {
    const error = decoded.left
    return error._tag === "UnknownMessageType"
      ? Effect.logDebug("message of unknown type ignored").pipe(
          Effect.annotateLogs({ type: error.type }),
          // One label for every unknown type: a peer must not grow our counters without bound.
          Effect.zipRight(Effect.flatMap(NodeStats, (stats) => stats.messageReceived("OTHER"))),
        )
      : Effect.logWarning("frame refused").pipe(
          Effect.annotateLogs({ reason: error.reason, detail: error.detail }),
          Effect.zipRight(Effect.flatMap(NodeStats, (stats) => stats.increment("framesRefused"))),
        )
  }
  const message = decoded.right
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
}
