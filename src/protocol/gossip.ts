import { Effect } from "effect"
import { encodeFrame, type TransactionMessage } from "../domain/Message.js"
import { PeerStore } from "../services/PeerStore.js"
import { TransactionPool } from "../services/TransactionPool.js"
import { isTimelyTransaction } from "./transactionTime.js"

/**
 * A TRANSACTION received (already decoded and verified by its Schema): store it if new and send it
 * to every connected peer. A transaction already in the pool is neither stored nor sent again, which
 * is what stops the gossip from looping. One timestamped too far in the future is refused.
 */
export const onTransaction = (message: TransactionMessage) =>
  Effect.gen(function* () {
    const pool = yield* TransactionPool
    const peers = yield* PeerStore
    if (!(yield* isTimelyTransaction(message.data))) return
    const isNew = yield* pool.add(message.data)
    if (!isNew) return yield* Effect.logDebug("transaction duplicate")
    yield* Effect.logInfo("transaction accepted")
    const targets = yield* peers.peers
    const frame = encodeFrame(message)
    yield* Effect.forEach(targets, (peer) => peer.send(frame), { discard: true })
    yield* Effect.logDebug("transaction forwarded").pipe(Effect.annotateLogs({ peers: targets.length }))
  }).pipe(
    Effect.annotateLogs({ hash: message.data.hash }),
    Effect.withSpan("Gossip.transaction", { attributes: { hash: message.data.hash } }),
  )
