import { type Chunk, Clock, Effect, Stream } from "effect"
import type { Address } from "../domain/Address.js"
import type { Message, TransactionMessage } from "../domain/Message.js"
import { NodeStats } from "../services/NodeStats.js"
import type { Connection, Frame } from "../services/Transport.js"
import { type FrameGuard, makeFrameGuard } from "./frameGuard.js"
import { onTransactions } from "./gossip.js"
import { onHandshake } from "./handshake.js"
import type { ConnectionLink } from "./links.js"
import { onSync, type Reply } from "./sync.js"

/** What the handlers of one connection's frames need. */
interface FrameContext {
  readonly dial: (address: Address) => Effect.Effect<void>
  /** Sends on the connection the frames came in on (the sync exchange answers there). */
  readonly reply: Reply
  readonly guard: FrameGuard
  /** What the node knows of the peer on this connection (who relays what: links.ts). */
  readonly link: ConnectionLink
}

/** A message other than TRANSACTION, to the handler of its type. */
const handle = (message: Exclude<Message, TransactionMessage>, context: FrameContext) =>
  Effect.flatMap(NodeStats, (stats) => stats.messageReceived(message.type)).pipe(
    Effect.zipRight(
      message.type === "HANDSHAKE"
        ? onHandshake(message, context.dial)
        : message.type === "PEERS"
          ? context.link.onPeers(message)
          : onSync(message, context.reply),
    ),
    Effect.annotateLogs({ type: message.type }),
  )

/** TRANSACTION frames in a row: the decoded ones, and how many were copies of known transactions. */
const handleTransactions = (messages: ReadonlyArray<TransactionMessage>, copies: number, context: FrameContext) =>
  Effect.gen(function* () {
    const stats = yield* NodeStats
    yield* stats.messageReceived("TRANSACTION", messages.length + copies)
    yield* stats.increment("transactionsDuplicate", copies)
    if (messages.length > 0) yield* onTransactions(messages, context.link.relay)
  }).pipe(Effect.annotateLogs({ type: "TRANSACTION" }))

/**
 * A run of incoming frames, in order, from the connection's guard to the handlers of their message
 * types. The guard logs and drops whatever is not a message; a bad frame never ends the node.
 * Consecutive TRANSACTION frames are handled as one batch (in a mesh they are most of the traffic);
 * every other message is handled on its own, after the transactions before it.
 */
export const receiveFrames = (frames: Chunk.Chunk<Frame>, context: FrameContext) =>
  Effect.gen(function* () {
    const now = yield* Clock.currentTimeMillis
    let transactions: Array<TransactionMessage> = []
    let copies = 0
    const handlePending = Effect.suspend(() => {
      if (transactions.length === 0 && copies === 0) return Effect.void
      const batch = handleTransactions(transactions, copies, context)
      transactions = []
      copies = 0
      return batch
    })
    for (const frame of frames) {
      const verdict = context.guard.inspect(frame, now)
      if (verdict._tag === "Known") {
        copies++
        continue
      }
      if (verdict._tag === "Message") {
        const message = verdict.message
        if (message.type === "TRANSACTION") {
          transactions.push(message)
          continue
        }
        yield* handlePending
        yield* handle(message, context)
        continue
      }
      yield* handlePending
      if (verdict._tag === "Refused") yield* context.guard.refuse(verdict.reason, verdict.detail)
      else yield* context.guard.ignore(verdict.type)
    }
    yield* handlePending
  })

/** Handles a connection's frames until it closes, or closes it once the peer has sent too many bad frames. */
export const serveFrames = (
  connection: Connection,
  dial: (address: Address) => Effect.Effect<void>,
  link: ConnectionLink,
) =>
  Effect.gen(function* () {
    const context: FrameContext = { dial, reply: connection.send, guard: yield* makeFrameGuard, link }
    yield* Stream.runForEachChunk(connection.frames, (frames) => receiveFrames(frames, context))
  }).pipe(
    Effect.catchTag("TooManyBadFrames", (error) =>
      Effect.logWarning("peer disconnected: too many bad frames").pipe(
        Effect.annotateLogs({ limit: error.limit }),
        Effect.andThen(connection.close),
      ),
    ),
  )
