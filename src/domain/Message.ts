import { Either, ParseResult, Schema } from "effect"
import { Traceparent } from "./TraceContext.js"
import { Transaction, TransactionHash } from "./Transaction.js"

/** `{ type: 'HANDSHAKE', data: <addresses> }`: the sender's connected addresses and its own. */
export const Handshake = Schema.Struct({
  type: Schema.Literal("HANDSHAKE"),
  // Each address is checked on its own, so one bad entry does not void the others.
  data: Schema.Array(Schema.Unknown),
})
export type Handshake = typeof Handshake.Type

/**
 * `{ type: 'TRANSACTION', data: <transaction> }`, optionally with our trace context beside them. The
 * trace context is kept as it came: `traceparentOf` reads it, and a malformed one is ignored, never
 * the transaction.
 */
export const TransactionMessage = Schema.Struct({
  type: Schema.Literal("TRANSACTION"),
  data: Transaction,
  traceparent: Schema.optional(Schema.Unknown),
})
export type TransactionMessage = typeof TransactionMessage.Type

const isTraceparent = Schema.is(Traceparent)

/** The sender's trace context, if the message carries a well-formed one. */
export const traceparentIn = (message: TransactionMessage): Traceparent | undefined =>
  isTraceparent(message.traceparent) ? message.traceparent : undefined

/** The most hashes one SYNC_HASHES or SYNC_REQUEST frame may carry (about 270 kB). */
export const MAX_SYNC_HASHES = 4096

/**
 * `{ type: 'SYNC_SUMMARY', data: { count, digest } }`: the sender's pool in brief, sent right after the
 * HANDSHAKE on an outbound connection. `digest` is the pool's two-level SHA-256 (domain/poolDigest.ts).
 * With `from` it asks for the next page of the receiver's hashes, those from that hash on.
 */
export const SyncSummary = Schema.Struct({
  type: Schema.Literal("SYNC_SUMMARY"),
  data: Schema.Struct({
    count: Schema.NonNegativeInt,
    digest: TransactionHash,
    from: Schema.optional(TransactionHash),
  }),
})
export type SyncSummary = typeof SyncSummary.Type

/**
 * `{ type: 'SYNC_HASHES', data: { from, to, hashes } }`: every hash the sender holds in the range
 * `from <= hash < to` (`from: ""` is the start of the range of hashes, `to: null` its end).
 */
export const SyncHashes = Schema.Struct({
  type: Schema.Literal("SYNC_HASHES"),
  data: Schema.Struct({
    from: Schema.Union(Schema.Literal(""), TransactionHash),
    to: Schema.NullOr(TransactionHash),
    hashes: Schema.Array(TransactionHash).pipe(Schema.maxItems(MAX_SYNC_HASHES)),
  }),
})
export type SyncHashes = typeof SyncHashes.Type

/** `{ type: 'SYNC_REQUEST', data: [hashes] }`: send me these transactions (as TRANSACTION frames). */
export const SyncRequest = Schema.Struct({
  type: Schema.Literal("SYNC_REQUEST"),
  data: Schema.Array(TransactionHash).pipe(Schema.maxItems(MAX_SYNC_HASHES)),
})
export type SyncRequest = typeof SyncRequest.Type

export type SyncMessage = SyncSummary | SyncHashes | SyncRequest

/** The most addresses one PEERS frame may list. */
export const MAX_PEERS_LISTED = 1024

/**
 * `{ type: 'PEERS', data: { address, peers, known? } }` (our extension, docs/scaling.md): the sender's
 * own address and every peer it relays transactions to; with MAX_PEERS, also a few other addresses it
 * knows, picked at random, so nodes find peers all over the network. Sent after the HANDSHAKE and
 * whenever the relay set changes; a spec node ignores it. Addresses are checked one by one.
 */
export const Peers = Schema.Struct({
  type: Schema.Literal("PEERS"),
  data: Schema.Struct({
    address: Schema.String,
    peers: Schema.Array(Schema.String).pipe(Schema.maxItems(MAX_PEERS_LISTED)),
    known: Schema.optional(Schema.Array(Schema.String).pipe(Schema.maxItems(MAX_PEERS_LISTED))),
  }),
})
export type Peers = typeof Peers.Type

/** Every message this node understands. */
export const Message = Schema.Union(Handshake, TransactionMessage, SyncSummary, SyncHashes, SyncRequest, Peers)
export type Message = typeof Message.Type

export const knownMessageTypes: ReadonlySet<string> = new Set([
  "HANDSHAKE",
  "TRANSACTION",
  "SYNC_SUMMARY",
  "SYNC_HASHES",
  "SYNC_REQUEST",
  "PEERS",
])

/** Why an incoming frame was not turned into a message. */
export class FrameRejected extends Schema.TaggedError<FrameRejected>()("FrameRejected", {
  reason: Schema.Literal("binary frame", "not JSON", "no message type", "invalid message"),
  detail: Schema.String,
}) {}

/** A well-formed message of a type this node does not know (other implementations may send them). */
export class UnknownMessageType extends Schema.TaggedError<UnknownMessageType>()("UnknownMessageType", {
  type: Schema.String,
}) {}

const decodeJson = Schema.decodeUnknownEither(Schema.parseJson())
const decodeMessage = Schema.decodeUnknownEither(Message, { errors: "first" })
// One encoder per message type: encoding through the union would first look for the member a value
// belongs to, once per frame.
const encoders = {
  HANDSHAKE: Schema.encodeSync(Schema.parseJson(Handshake)),
  TRANSACTION: Schema.encodeSync(Schema.parseJson(TransactionMessage)),
  SYNC_SUMMARY: Schema.encodeSync(Schema.parseJson(SyncSummary)),
  SYNC_HASHES: Schema.encodeSync(Schema.parseJson(SyncHashes)),
  SYNC_REQUEST: Schema.encodeSync(Schema.parseJson(SyncRequest)),
  PEERS: Schema.encodeSync(Schema.parseJson(Peers)),
} satisfies { readonly [T in Message["type"]]: (message: Extract<Message, { type: T }>) => string }

/**
 * Decodes one WebSocket frame into a message, by the Message schema alone. The JSON is parsed first
 * so that a well-formed message of a type we do not know is told apart from a malformed one.
 */
export const decodeFrame = (frame: string | Uint8Array): Either.Either<Message, FrameRejected | UnknownMessageType> => {
  if (typeof frame !== "string") {
    return Either.left(new FrameRejected({ reason: "binary frame", detail: `${frame.byteLength} bytes` }))
  }
  const json = decodeJson(frame)
  if (Either.isLeft(json)) return Either.left(new FrameRejected({ reason: "not JSON", detail: json.left.message }))
  const type = typeOf(json.right)
  if (type === undefined) {
    return Either.left(
      new FrameRejected({ reason: "no message type", detail: "expected an object with a string 'type'" }),
    )
  }
  if (!knownMessageTypes.has(type)) return Either.left(new UnknownMessageType({ type }))
  return Either.mapLeft(
    decodeMessage(json.right),
    (error) => new FrameRejected({ reason: "invalid message", detail: describeIssues(error) }),
  )
}

/** `data.amount: Expected a positive number, actual -1`: the path and the problem, without the schema. */
const describeIssues = (error: ParseResult.ParseError): string =>
  ParseResult.ArrayFormatter.formatErrorSync(error)
    .map((issue) => `${issue.path.join(".") || "message"}: ${issue.message}`)
    .join("; ")

const typeOf = (json: unknown): string | undefined =>
  typeof json === "object" && json !== null && "type" in json && typeof json.type === "string" ? json.type : undefined

/**
 * Encodes a message as the text frame the spec sends, by the Message schema: only the schema's fields,
 * in its order (a TRANSACTION's data as the spec lists it), whatever else the value carries.
 */
export const encodeFrame = (message: Message): string => {
  switch (message.type) {
    case "HANDSHAKE":
      return encoders.HANDSHAKE(message)
    case "TRANSACTION":
      return encoders.TRANSACTION(message)
    case "SYNC_SUMMARY":
      return encoders.SYNC_SUMMARY(message)
    case "SYNC_HASHES":
      return encoders.SYNC_HASHES(message)
    case "SYNC_REQUEST":
      return encoders.SYNC_REQUEST(message)
    case "PEERS":
      return encoders.PEERS(message)
  }
}
