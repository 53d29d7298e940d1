import { type Chunk, Clock, Effect, Option } from "effect"
import type { Address, AddressParser } from "../domain/Address.js"
import { forEachDiscard } from "../domain/forEachDiscard.js"
import { withLogAnnotation } from "../domain/isLogged.js"
import type { Handshake, Message, TransactionMessage } from "../domain/Message.js"
import { NodeStats, type NodeStatsShape } from "../services/NodeStats.js"
import type { TransactionPool } from "../services/TransactionPool.js"
import type { Connection, Frame } from "../services/Transport.js"
import { type FrameGuard, makeFrameGuards, type TooManyBadFrames } from "./frameGuard.js"
import { type Gossip, makeGossip } from "./gossip.js"
import { makeHandshakeHandler } from "./handshake.js"
import type { ConnectionLink } from "./links.js"
import { makeSyncBudgets, onSync, type Reply, type SyncBudget } from "./sync.js"

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
      withLogAnnotation("type", message.type),
    )

/** TRANSACTION frames in a row: the decoded ones, and how many were copies of known transactions. */
const handleTransactions = (
  messages: ReadonlyArray<TransactionMessage>,
  copies: number,
  now: number,
  context: FrameContext,
) => {
  const counted = context.stats
    .messageReceived("TRANSACTION", messages.length + copies)
    .pipe(Effect.zipRight(copies > 0 ? context.stats.increment("transactionsDuplicate", copies) : Effect.void))
  if (messages.length === 0) return counted
  return Effect.zipRight(
    counted,
    // Its log lines carry type=TRANSACTION themselves: no annotation is set up per batch.
    context.gossip.onTransactions(messages, context.link.relay, now),
  )
}

/**
 * A run of incoming frames, in order, from the connection's guard to the handlers of their message
 * types. The guard logs and drops whatever is not a message; a bad frame never ends the node.
 * Consecutive TRANSACTION frames are handled as one batch (in a mesh they are most of the traffic);
 * every other message is handled on its own, after the transactions before it.
 */
export const receiveFrames = (frames: Chunk.Chunk<Frame>, context: FrameContext) =>
  Effect.flatMap(Clock.currentTimeMillis, (now) => {
    let transactions: Array<TransactionMessage> = []
    let copies = 0
    // The effects to run, in order; built in one synchronous pass over the frames.
    const steps: Array<Effect.Effect<void, TooManyBadFrames, TransactionPool>> = []
    const endBatch = () => {
      if (transactions.length === 0 && copies === 0) return
      steps.push(handleTransactions(transactions, copies, now, context))
      transactions = []
      copies = 0
    }
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
        endBatch()
        steps.push(handle(message, context))
        continue
      }
      endBatch()
      steps.push(
        verdict._tag === "Refused"
          ? context.guard.refuse(verdict.reason, verdict.detail)
          : context.guard.ignore(verdict.type),
      )
    }
    endBatch()
    return forEachDiscard(steps, (step) => step)
  })

/**
 * The per-frame fast path (Connection.intercept): a TRANSACTION frame that is a copy or a new timely
 * one is handled as a plain call in the socket's callback, with no fiber woken. Any other frame (a
 * refusal, whose line and budget belong to the fiber, too) goes the fiber's way (`receiveFrames`),
 * and the transport keeps them in order.
 */
const takeTransactionNow =
  (context: FrameContext, clock: Clock.Clock, acceptNow: ReturnType<Gossip["acceptNowOn"]>) =>
  (frame: Frame): boolean => {
    const now = clock.unsafeCurrentTimeMillis()
    const verdict = context.guard.inspectTransaction(frame, now, (message) => context.gossip.isTimely(message, now))
    if (verdict === undefined) return false
    context.stats.unsafe.messageReceived("TRANSACTION")
    if (verdict._tag === "Known") context.stats.unsafe.increment("transactionsDuplicate")
    else if (verdict._tag === "Message" && verdict.message.type === "TRANSACTION") {
      acceptNow(verdict.message, context.link.relayNow, now)
    }
    return true
  }

/**
 * Makes a node's `serveFrames`: what does not depend on the connection (services, the gossip) is
 * looked up once, here; each connection then only builds its own state (budgets, link, guard).
 */
export const makeFrameServer = (dial: (address: Address) => Effect.Effect<void>, parse: AddressParser) =>
  Effect.gen(function* () {
    const stats = yield* NodeStats
    const guardAt = yield* makeFrameGuards
    const gossip = yield* makeGossip
    const onHandshake = yield* makeHandshakeHandler(dial, parse)
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
      Effect.clockWith((clock) => {
        const now = clock.unsafeCurrentTimeMillis()
        const context: FrameContext = {
          onHandshake:
            adopt === undefined ? onHandshake : (message) => Effect.zipRight(adopt(message), onHandshake(message)),
          reply: connection.send,
          guard: guardAt(now),
          link,
          gossip,
          stats,
          // Per IP, so reconnecting does not refill it.
          syncBudget: syncBudgetOf(connection.remoteIp ?? connection.remote),
        }
        const serve: Effect.Effect<void, TooManyBadFrames, TransactionPool> = Effect.flatMap(
          connection.receive,
          (frames) =>
            Option.isNone(frames) ? Effect.void : Effect.zipRight(receiveFrames(frames.value, context), serve),
        )
        if (!gossip.fastPath) return serve
        // The connection's fiber's runtime: the fast path's log lines carry its annotations.
        return Effect.flatMap(Effect.runtime<never>(), (runtime) =>
          Effect.zipRight(connection.intercept(takeTransactionNow(context, clock, gossip.acceptNowOn(runtime))), serve),
        )
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
