import type { TransactionMessage } from "./Message.js"
import { transactionTooLong } from "./Transaction.js"

/** What a run of TRANSACTION messages holds for the pool, decided before anything is stored. */
export interface Triage {
  /** Those whose hash the pool does not hold and whose timestamp is acceptable, in order. */
  readonly fresh: ReadonlyArray<TransactionMessage>
  /** How many were copies of a transaction the pool holds (the gossip's echoes). */
  readonly copies: number
  /** Those stamped further ahead of the node's clock than the tolerance allows: refused. */
  readonly tooFarAhead: ReadonlyArray<TransactionMessage>
  /** Those with an address longer than the limit: refused. */
  readonly tooLong: ReadonlyArray<TransactionMessage>
}

/** What a node accepts of a transaction it does not hold yet. */
export interface TriageLimits {
  readonly toleranceMillis: number
  readonly maxAddressLength: number
}

/**
 * Sorts decoded TRANSACTION messages received at `now` (ms): copies of what the pool `holds` are
 * dropped (that is what stops the gossip from looping); one stamped more than `toleranceMillis` ahead,
 * or with an address over `maxAddressLength`, is refused; the rest are fresh. Two copies of a new
 * transaction in one run are both fresh here: the pool keeps the first.
 */
export const triageTransactions = (
  messages: ReadonlyArray<TransactionMessage>,
  now: number,
  limits: TriageLimits,
  holds: (hash: string) => boolean,
): Triage => {
  const fresh: Array<TransactionMessage> = []
  const tooFarAhead: Array<TransactionMessage> = []
  const tooLong: Array<TransactionMessage> = []
  let copies = 0
  for (const message of messages) {
    if (holds(message.data.hash)) copies++
    else if (message.data.timeStamp > now + limits.toleranceMillis) tooFarAhead.push(message)
    else if (transactionTooLong(message.data, limits.maxAddressLength) !== undefined) tooLong.push(message)
    else fresh.push(message)
  }
  return { fresh, copies, tooFarAhead, tooLong }
}
