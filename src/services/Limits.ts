import { Context } from "effect"

/** Every limit that protects a node from what its peers send; docs/limits.md lists them with their variables. */
export interface LimitsShape {
  /** Largest frame accepted, in bytes (a larger one is refused and, on WebSocket, ends the connection). */
  readonly maxPayloadBytes: number
  /** Bytes waiting to be sent to one peer; past it the peer is not reading and is disconnected. */
  readonly maxSendBufferBytes: number
  /** Deepest nesting of arrays and objects a JSON frame may have. */
  readonly maxJsonDepth: number
  /** Bad frames a peer may send per minute; one more and it is disconnected. */
  readonly badFramesPerMinute: number
  /** Messages per second a connection may send, sustained. */
  readonly messagesPerSecond: number
  /** Messages a connection may send in a burst above the sustained rate. */
  readonly messageBurst: number
  /** Addresses of one HANDSHAKE considered; the rest are dropped. */
  readonly maxHandshakeAddresses: number
  /** Open connections, inbound and outbound together. */
  readonly maxConnections: number
  /** Of `maxConnections`, how many inbound connections may never take: kept for our own dials (at most half). */
  readonly reservedOutbound: number
  /** Dials in flight at once. */
  readonly dialConcurrency: number
  /** Dials waiting for a free dial slot; more are refused. */
  readonly dialQueueSize: number
  /** How long a dial may take. */
  readonly dialTimeoutMillis: number
  /** Learned addresses (from HANDSHAKE and PEERS) waiting for their dial; more are dropped. */
  readonly addressBookSize: number
  /** Addresses one source (IP) may add to the address book a minute. */
  readonly learnedPerMinute: number
  /**
   * Addresses the peer table keeps while it is neither connected to them, nor dialling them, nor
   * holding them for the dial loop; past it the oldest such are forgotten.
   */
  readonly maxRememberedAddresses: number
  /** Learned addresses dialled a second, sustained. */
  readonly dialsPerSecond: number
  /** Learned addresses dialled at once above that pace, after a quiet spell. */
  readonly dialBurst: number
  /** How far ahead of this node's clock a transaction's timeStamp may be. */
  readonly futureToleranceMillis: number
  /** Longest `fromAddress` or `toAddress` a transaction may have, in characters. */
  readonly maxAddressLength: number
  /** Transactions the pool holds at most; past it new ones are refused, none evicted. */
  readonly maxPoolTransactions: number
  /** Bytes the pool file holds at most; past it new transactions are refused, none evicted. */
  readonly maxPoolBytes: number
}

export const defaultLimits: LimitsShape = {
  maxPayloadBytes: 1024 * 1024,
  // A catch-up is paged (a page's answer is at most 512 transactions, about 0.7 MB), so only gossip
  // and the largest one-off answer (5,000 transactions, 1.5 MB typical, 6.5 MB at the longest
  // addresses) fill it. Bitcoin Core's is 1 MB; 20 deaf peers then hold at most 80 MB.
  maxSendBufferBytes: 4 * 1024 * 1024,
  maxJsonDepth: 32,
  badFramesPerMinute: 20,
  // Generous: a pool catch-up (docs/protocol-sync.md) answers with one TRANSACTION frame per missing transaction.
  messagesPerSecond: 5_000,
  messageBurst: 20_000,
  maxHandshakeAddresses: 1_000,
  // A full mesh of n nodes holds 2(n-1) connections per node (one each way): 256 fits a mesh of 100.
  maxConnections: 256,
  // Whoever connects to us, a node keeps room to reach its own peers (Bitcoin Core keeps its outbound
  // slots apart for the same reason: inbound strangers must not be able to eclipse a node).
  reservedOutbound: 32,
  dialConcurrency: 16,
  // Effect's Semaphore wakes every waiting dial when one ends: a short queue keeps that cheap, and the
  // address book's pace keeps it short.
  dialQueueSize: 128,
  dialTimeoutMillis: 5_000,
  addressBookSize: 1_024,
  // A HANDSHAKE lists every peer of its sender: a newcomer to a mesh of 100 learns 99 from its first.
  learnedPerMinute: 200,
  // Four address books' worth: about 2 MB of entries. A peer listing fresh addresses without end
  // would otherwise grow the table by up to DIALS_PER_SECOND entries a second, for good.
  maxRememberedAddresses: 4_096,
  // A node joining a mesh of n dials n-1 learned addresses: 50 at once, the rest within a few seconds.
  dialsPerSecond: 50,
  dialBurst: 150,
  // Bitcoin allows a block timestamp two hours ahead of the network's time.
  futureToleranceMillis: 2 * 60 * 60 * 1000,
  // Addresses are hex public keys: an uncompressed secp256k1 key is 130 characters.
  maxAddressLength: 512,
  maxPoolTransactions: 1_000_000,
  maxPoolBytes: 512 * 1024 * 1024,
}

/** Each limit's environment variable (also read from the node folder's .env) and what it bounds. */
export const limitVariables: { readonly [K in keyof LimitsShape]: readonly [variable: string, description: string] } = {
  maxPayloadBytes: ["MAX_PAYLOAD_BYTES", "largest frame accepted, in bytes"],
  maxSendBufferBytes: ["MAX_SEND_BUFFER_BYTES", "bytes waiting to be sent to one peer before it is disconnected"],
  maxJsonDepth: ["MAX_JSON_DEPTH", "deepest nesting of arrays and objects in a frame"],
  badFramesPerMinute: ["BAD_FRAMES_PER_MINUTE", "bad frames a peer may send a minute before it is disconnected"],
  messagesPerSecond: ["MESSAGES_PER_SECOND", "messages a connection may send a second, sustained"],
  messageBurst: ["MESSAGE_BURST", "messages a connection may send at once above that rate"],
  maxHandshakeAddresses: ["MAX_HANDSHAKE_ADDRESSES", "addresses read from one HANDSHAKE"],
  maxConnections: ["MAX_CONNECTIONS", "open connections, inbound and outbound"],
  reservedOutbound: [
    "RESERVED_OUTBOUND",
    "of those, kept for our own dials (at most half; one per known peer from learned dials too)",
  ],
  dialConcurrency: ["DIAL_CONCURRENCY", "dials in flight at once"],
  dialQueueSize: ["DIAL_QUEUE_SIZE", "dials waiting for their turn"],
  dialTimeoutMillis: ["DIAL_TIMEOUT_MS", "milliseconds a dial may take"],
  addressBookSize: ["ADDRESS_BOOK_SIZE", "learned addresses waiting for their dial"],
  learnedPerMinute: ["LEARNED_PER_MINUTE", "addresses one IP may add to the address book a minute"],
  maxRememberedAddresses: [
    "MAX_REMEMBERED_ADDRESSES",
    "addresses the peer table keeps while not connected, dialling or queued (the oldest are forgotten)",
  ],
  dialsPerSecond: ["DIALS_PER_SECOND", "learned addresses dialled a second"],
  dialBurst: ["DIAL_BURST", "learned addresses dialled at once above that pace"],
  futureToleranceMillis: ["TX_FUTURE_TOLERANCE_MS", "milliseconds a transaction's timeStamp may be ahead of the clock"],
  maxAddressLength: ["MAX_ADDRESS_LENGTH", "characters in a transaction's fromAddress or toAddress"],
  maxPoolTransactions: ["MAX_POOL_TRANSACTIONS", "transactions the pool holds"],
  maxPoolBytes: ["MAX_POOL_BYTES", "bytes of the pool file (transactions.json)"],
}

/**
 * The node's limits. A Reference: code that needs a limit reads it without adding a requirement, and
 * gets the defaults unless a layer (LimitsConfig in production, a test's override) provides others.
 */
export class Limits extends Context.Reference<Limits>()("meshnode/Limits", {
  defaultValue: (): LimitsShape => defaultLimits,
}) {}
