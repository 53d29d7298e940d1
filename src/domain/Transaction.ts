import { createHash } from "node:crypto"
import { ParseResult, Schema } from "effect"

/** The hash the spec's add-transaction computes: SHA-256 of the fields' string concatenation. */
const transactionHash = (fields: {
  readonly fromAddress: string | null
  readonly toAddress: string
  readonly amount: number
  readonly timeStamp: number
}): string =>
  createHash("sha256")
    .update(`${fields.fromAddress}${fields.toAddress}${fields.amount}${fields.timeStamp}`)
    .digest("hex")

/** A transaction hash as the wire carries it: 64 lowercase hex digits. */
export const TransactionHash = Schema.String.pipe(
  Schema.pattern(/^[0-9a-f]{64}$/, { message: () => "hash must be 64 lowercase hex digits" }),
)

const TransactionFields = Schema.Struct({
  fromAddress: Schema.NullOr(Schema.String),
  toAddress: Schema.String,
  amount: Schema.Number.pipe(Schema.finite(), Schema.positive()),
  timeStamp: Schema.Number.pipe(Schema.finite(), Schema.nonNegative()),
  hash: TransactionHash,
})

/**
 * A transaction of the spec's shape. Decoding checks the field types, that the amount is a
 * positive finite number, and that the hash matches the other fields. Encoding writes the fields as
 * they are: a Transaction value was checked when it was decoded or made.
 */
export const Transaction = Schema.transformOrFail(TransactionFields, Schema.typeSchema(TransactionFields), {
  strict: true,
  decode: (tx, _, ast) =>
    transactionHash(tx) === tx.hash
      ? ParseResult.succeed(tx)
      : ParseResult.fail(new ParseResult.Type(ast, tx, "hash does not match the transaction's fields")),
  encode: ParseResult.succeed,
})
export type Transaction = typeof Transaction.Type

/**
 * Why a transaction is over the node's bounds (docs/limits.md), or undefined. Lengths are checked
 * here rather than in the Schema: the limit is configurable (MAX_ADDRESS_LENGTH).
 */
export const transactionTooLong = (tx: Transaction, maxAddressLength: number): string | undefined =>
  tx.toAddress.length > maxAddressLength || (tx.fromAddress?.length ?? 0) > maxAddressLength
    ? "address too long"
    : undefined

/** Builds a valid transaction, as the spec's add-transaction does. */
export const makeTransaction = (fields: {
  readonly fromAddress: string | null
  readonly toAddress: string
  readonly amount: number
  readonly timeStamp: number
}): Transaction => ({
  fromAddress: fields.fromAddress,
  toAddress: fields.toAddress,
  amount: fields.amount,
  timeStamp: fields.timeStamp,
  hash: transactionHash(fields),
})
