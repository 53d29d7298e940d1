import { type Chunk, Clock, Effect, Option } from "effect"
import type { Address, AddressParser } from "../domain/Address.js"
import type { Handshake, Message, TransactionMessage } from "../domain/Message.js"
import { NodeStats, type NodeStatsShape } from "../services/NodeStats.js"
import type { TransactionPool } from "../services/TransactionPool.js"
import type { Connection, Frame } from "../services/Transport.js"
import { type FrameGuard, makeFrameGuards, type TooManyBadFrames } from "./frameGuard.js"
import { type Gossip, makeGossip } from "./gossip.js"
import { makeHandshakeHandler } from "./handshake.js"
import type { ConnectionLink } from "./links.js"
import { onSync, type Reply } from "./sync.js"
import { makeSyncBudgets, type SyncBudget } from "./syncBudget.js"

/** What the handlers of one connection's frames need: the node's, looked up once, and the connection's own. */
interface FrameContext {
  readonly onHandshake: (message: Handshake) => Effect.Effect<void>
  /** Sends on the connection the frames came in on (the sync exchange answers there). */
  readonly reply: Reply
  readonly guard: FrameGuard
  /** What the node knows of the peer on this connection (who relays what: links.ts). */
  readonly link: ConnectionLink
  readonly gossip: Gossip
  readonly stats: NodeStatsShape
  /** What the peer may make this node send through the sync. */
  readonly syncBudget: SyncBudget
  /** Whether the other end is a peer: we dialled it, or it sent a HANDSHAKE; a client does neither. */
  readonly isPeer: () => boolean
}

/** A message other than TRANSACTION, to the handler of its type. */
const handle = (message: Exclude<Message, TransactionMessage>, context: FrameContext) =>
  context.stats
    .messageReceived(message.type)
    .pipe(
      Effect.zipRight(
        message.type === "HANDSHAKE"
          ? context.onHandshake(message)
          : message.type === "PEERS"
            ? context.link.onPeers(message)
            : onSync(message, context.reply, context.syncBudget),
      ),
      Effect.annotateLogs("type", message.type),
    )

/**
 * TRANSACTION frames in a row, decoded, to the gossip as one batch. Those it refused count against a
 * sender that never named itself in a HANDSHAKE (a client). Not against a peer: a spec node relays
 * whatever it is sent, unchecked, and another node of ours may have other limits or a skewed clock.
 */
const handleTransactions = (messages: ReadonlyArray<TransactionMessage>, now: number, context: FrameContext) =>
  context.stats.messageReceived("TRANSACTION", messages.length).pipe(
    Effect.zipRight(context.gossip.onTransactions(messages, context.link.relay, now)),
    Effect.flatMap((refused) =>
      refused > 0 && !context.isPeer() ? context.guard.refusedTransactions(refused) : Effect.void,
    ),
  )

/**
 * A run of incoming frames, in order, from the connection's guard to the handlers of their message
 * types. The guard decides synchronously what each frame is (a plain pass over the run); the steps
 * it leads to are then run in order. The guard logs and drops whatever is not a message; a bad frame
 * never ends the node. Consecutive TRANSACTION frames are handled as one batch (in a mesh they are
 * most of the traffic); every other message is handled on its own, after the transactions before it.
 */
const receiveFrames = (frames: Chunk.Chunk<Frame>, context: FrameContext) =>
  Effect.flatMap(Clock.currentTimeMillis, (now) => {
    let transactions: Array<TransactionMessage> = []
    // The steps, in order: one plain sequence (a run is mostly a single step).
    let steps: Effect.Effect<void, TooManyBadFrames, TransactionPool> = Effect.void
    const andThen = (step: Effect.Effect<void, TooManyBadFrames, TransactionPool>) => {
      steps = Effect.zipRight(steps, step)
    }
    const endBatch = () => {
      if (transactions.length === 0) return
      andThen(handleTransactions(transactions, now, context))
      transactions = []
    }
    for (const frame of frames) {
      const verdict = context.guard.inspect(frame, now)
      if (verdict._tag !== "Message") {
        endBatch()
        andThen(
          verdict._tag === "Refused"
            ? context.guard.refuse(verdict.reason, verdict.detail)
            : context.guard.ignore(verdict.type),
        )
        continue
      }
      const message = verdict.message
      if (message.type === "TRANSACTION") {
        transactions.push(message)
        continue
      }
      endBatch()
      andThen(handle(message, context))
    }
    endBatch()
    return steps
  })

/**
 * Makes a node's `serveFrames`: what does not depend on the connection (services, the gossip) is
 * looked up once, here; each connection then only builds its own state (budgets, link, guard).
 */
export const makeFrameServer = (
  learn: (addresses: ReadonlyArray<Address>, source: string | undefined) => Effect.Effect<void>,
  parse: AddressParser,
) =>
  Effect.gen(function* () {
    const stats = yield* NodeStats
    const guardAt = yield* makeFrameGuards
    const gossip = yield* makeGossip
    const handshakeHandler = yield* makeHandshakeHandler(learn, parse)
    const syncBudgetOf = yield* makeSyncBudgets

    /**
     * Handles a connection's frames until it closes, or closes it once the peer has sent too many bad
     * frames. `adopt` (inbound connections) names the peer from its HANDSHAKE first (pairing.ts).
     */
    const serveFrames = (
      connection: Connection,
      link: ConnectionLink,
      adopt?: (message: Handshake) => Effect.Effect<void>,
    ) =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        // One fiber reads a connection's frames in order, so a plain variable is enough here.
        let introduced = adopt === undefined
        const onHandshake = (message: Handshake) =>
          Effect.suspend(() => {
            introduced = true
            return handshakeHandler(message, connection.remoteIp)
          })
        const context: FrameContext = {
          onHandshake:
            adopt === undefined ? onHandshake : (message) => Effect.zipRight(adopt(message), onHandshake(message)),
          reply: connection.send,
          guard: guardAt(now, connection.remoteIp),
          link,
          gossip,
          stats,
          // Per IP, so reconnecting does not refill it.
          syncBudget: syncBudgetOf(connection.remoteIp ?? connection.remote),
          isPeer: () => introduced,
        }
        for (;;) {
          const frames = yield* connection.receive
          if (Option.isNone(frames)) return
          yield* receiveFrames(frames.value, context)
        }
      }).pipe(
        Effect.catchTag("TooManyBadFrames", (error) =>
          Effect.logWarning("peer disconnected: too many bad frames").pipe(
            Effect.annotateLogs({ limit: error.limit }),
            Effect.andThen(connection.close),
          ),
        ),
      )
    return serveFrames
  })
