import { Args, Command, Options } from "@effect/cli"
import { Clock, Console, Effect, Option, Schema } from "effect"
import { localAddress } from "../domain/Address.js"
import { encodeFrame } from "../domain/Message.js"
import { makeTransaction, type Transaction } from "../domain/Transaction.js"
import { withOwnTraceContext } from "../protocol/traceContext.js"
import { Transport } from "../services/Transport.js"
import { type NodeFolder, readNodeFolder } from "./nodeFolders.js"
import { ExitCode, makeProgress, summary } from "./output.js"
import { fetchStatus } from "./statusClient.js"

const folder = Args.directory({ name: "NODE_FOLDER", exists: "yes" }).pipe(
  Args.withDescription("the node to send to (its .env gives the port); default: the current folder"),
  Args.withDefault("."),
)
const amountMessage = () => "--amount takes a positive number, e.g. --amount 42"
const amount = Options.float("amount").pipe(
  Options.withSchema(
    Schema.Number.pipe(Schema.finite({ message: amountMessage }), Schema.positive({ message: amountMessage })),
  ),
  Options.withDescription("the amount of each transaction (a positive number); default: random 1..100"),
  Options.optional,
)
/** Public keys are hex; an empty or mistyped one would make a transaction nobody can be paid by. */
const isHex = (text: string) => /^[0-9a-fA-F]+$/.test(text)
const to = Options.text("to").pipe(
  Options.withSchema(
    Schema.String.pipe(Schema.filter(isHex, { message: () => "--to takes a public key in hex, e.g. --to 04ab12" })),
  ),
  Options.withDescription("the toAddress, a public key in hex; default: the node's MY_PUBLIC_KEY"),
  Options.optional,
)
const count = Options.integer("count").pipe(
  Options.withSchema(
    Schema.Int.pipe(Schema.between(1, 10_000, { message: () => "--count takes a whole number from 1 to 10000" })),
  ),
  Options.withDescription("how many transactions to send, 1..10000 (default 1)"),
  Options.withDefault(1),
)

/** K transactions of the spec's shape, distinct by hash even within one millisecond. */
const makeTransactions = (options: {
  count: number
  toAddress: string
  amount: Option.Option<number>
  now: number
}) => {
  const seen = new Set<string>()
  const transactions: Array<Transaction> = []
  let timeStamp = options.now
  while (transactions.length < options.count) {
    const tx = makeTransaction({
      fromAddress: null,
      toAddress: options.toAddress,
      amount: Option.getOrElse(options.amount, () => Math.floor(Math.random() * 100) + 1),
      timeStamp,
    })
    if (seen.has(tx.hash)) {
      timeStamp++
      continue
    }
    seen.add(tx.hash)
    transactions.push(tx)
  }
  return transactions
}

/** --to, or else the node's MY_PUBLIC_KEY, which must then be hex too. */
const recipient = (to: Option.Option<string>, node: NodeFolder) => {
  if (Option.isSome(to)) return Effect.succeed(to.value)
  const key = Option.getOrElse(node.publicKey, () => "")
  if (isHex(key)) return Effect.succeed(key)
  const where = `${node.folder}/.env`
  return new ExitCode({
    code: 1,
    message:
      key === ""
        ? `no --to given and no MY_PUBLIC_KEY in ${where}: pass --to <public key in hex>`
        : `MY_PUBLIC_KEY in ${where} is not hex: fix it, or pass --to <public key in hex>`,
  })
}

/** How long to wait for the node to show what was sent before saying so. */
const confirmTimeoutMillis = 15_000

export const addTransactionCommand = Command.make("add-transaction", { folder, amount, to, count }, (options) =>
  Effect.gen(function* () {
    const node = yield* readNodeFolder(options.folder)
    const address = localAddress(node.port)
    const toAddress = yield* recipient(options.to, node)
    const transactions = makeTransactions({ ...options, toAddress, now: yield* Clock.currentTimeMillis })
    const before = yield* fetchStatus(node.port)
    const transport = yield* Transport
    const progress = makeProgress("sent", transactions.length)
    yield* Effect.scoped(
      Effect.gen(function* () {
        const connection = yield* transport
          .dial(address)
          .pipe(
            Effect.mapError(
              (error) =>
                new ExitCode({ code: 1, message: `cannot reach ${node.name} at ${address}: ${error.message}` }),
            ),
          )
        for (const [i, tx] of transactions.entries()) {
          // With tracing on, each transaction's trace starts here and follows it through the network.
          yield* withOwnTraceContext({ type: "TRANSACTION", data: tx }).pipe(
            Effect.flatMap((message) => connection.send(encodeFrame(message))),
            Effect.withSpan("AddTransaction.send", { attributes: { hash: tx.hash, peer: address }, root: true }),
          )
          if (transactions.length > 1) yield* progress.update(i + 1)
        }
        // Keep the connection open until the node shows it has them: closing early could cut the tail.
        if (Option.isSome(before)) {
          const target = before.value.pool.size + transactions.length
          const reached = yield* fetchStatus(node.port).pipe(
            Effect.zipLeft(Effect.sleep("100 millis")),
            Effect.repeat({ until: (status) => Option.isSome(status) && status.value.pool.size >= target }),
            Effect.timeoutOption(confirmTimeoutMillis),
          )
          if (Option.isNone(reached) || Option.isNone(reached.value)) {
            return yield* new ExitCode({
              code: 1,
              message: `${node.name} did not show all ${transactions.length} transaction(s) within ${confirmTimeoutMillis / 1000} s`,
            })
          }
        }
      }),
    )
    if (transactions.length === 1 && transactions[0] !== undefined) {
      yield* Console.log(JSON.stringify(transactions[0], null, 2))
    }
    const what = transactions.length === 1 ? "1 transaction" : `${transactions.length} transactions`
    yield* summary(
      Option.isSome(before)
        ? `sent ${what} to ${node.name} (${address}); its pool grew from ${before.value.pool.size} to at least ${before.value.pool.size + transactions.length}`
        : `sent ${what} to ${node.name} (${address}); it has no /status, so delivery is not confirmed`,
    )
  }),
).pipe(
  Command.withDescription(
    "Sends new transactions to a node, which stores and gossips them, and waits until its pool shows them.",
  ),
)
