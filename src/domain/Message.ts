import { Either, Option, ParseResult, Schema } from "effect"
import { Traceparent } from "./TraceContext.js"
import { Transaction } from "./Transaction.js"

/** `{ type: 'HANDSHAKE', data: <addresses> }`: the sender's connected addresses and its own. */
export const Handshake = Schema.Struct({
  type: Schema.Literal("HANDSHAKE"),
  // Each address is checked on its own, so one bad entry does not void the others.
  data: Schema.Array(Schema.Unknown),
})
export type Handshake = typeof Handshake.Type

/** `{ type: 'TRANSACTION', data: <transaction> }`, optionally with our trace context beside them. */
export const TransactionMessage = Schema.Struct({
  type: Schema.Literal("TRANSACTION"),
  data: Transaction,
  // A malformed trace context is dropped, never the transaction.
  traceparent: Schema.optionalToOptional(Schema.Unknown, Traceparent, {
    decode: Option.filter(Schema.is(Traceparent)),
    encode: (traceparent) => traceparent,
  }),
})
export type TransactionMessage = typeof TransactionMessage.Type

/** Every message this node understands. */
export const Message = Schema.Union(Handshake, TransactionMessage)
export type Message = typeof Message.Type

export const knownMessageTypes: ReadonlySet<string> = new Set(["HANDSHAKE", "TRANSACTION"])

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
const encodeMessage = Schema.encodeSync(Schema.parseJson(Message))

/** Decodes one WebSocket frame into a message. */
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

/** Encodes a message as the text frame the spec sends (`JSON.stringify` of the object). */
export const encodeFrame = (message: Message): string => encodeMessage(message)
