import { FileSystem } from "@effect/platform"
import { Effect, Either, Option, ParseResult, Schema, Stream } from "effect"
import { makeJsonArrayScanner } from "../domain/jsonArrayScanner.js"
import { Transaction } from "../domain/Transaction.js"
import { Limits } from "../services/Limits.js"
import { PoolError } from "../services/TransactionPool.js"
import { makeRenderedStore } from "./poolStore.js"

const decodeTransaction = Schema.decodeUnknownEither(Transaction, { errors: "first" })

/** Read in pieces of this size: the file is never held whole. */
const readChunkBytes = 1024 * 1024

/** One line: what is wrong with entry `n` of a pool file, or undefined if it is a transaction. */
const entryProblem = (text: string, n: number, admit: (tx: Transaction) => string | undefined) => {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (error) {
    return `transaction ${n} is not JSON (${error instanceof Error ? error.message : String(error)})`
  }
  const decoded = decodeTransaction(json)
  if (Either.isLeft(decoded)) {
    const issues = ParseResult.ArrayFormatter.formatErrorSync(decoded.left)
    return `transaction ${n}: ${issues.map((issue) => [...issue.path, issue.message].join(": ")).join("; ")}`
  }
  return admit(decoded.right)
}

/** The one-line error for a pool past a limit: which, and the variable to raise. */
const tooLarge = (file: string, what: string, variable: string) =>
  new PoolError({
    reason: "TooLarge",
    file,
    message: `${file} ${what} (${variable}): raise ${variable} in the node folder's .env or the environment to start on it`,
  })

/**
 * Reads a pool file into a rendered store, in pieces (a file of any size up to MAX_POOL_BYTES, never
 * read as one string). A missing file is created as `[]`; an unreadable, corrupt or wrongly-shaped one
 * is an error that names the file and the problem in one line, and is never overwritten; so is one
 * past the pool's limits, which also names the variable to raise.
 */
export const readPoolFile = (file: string) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const limits = yield* Limits
    const store = makeRenderedStore()
    const exists = yield* fs.exists(file).pipe(Effect.orElseSucceed(() => false))
    if (!exists) {
      yield* fs
        .writeFileString(file, "[]")
        .pipe(Effect.mapError((e) => new PoolError({ reason: "WriteFailed", file, message: e.message })))
      return store
    }
    const unreadable = (e: { readonly message: string }) =>
      new PoolError({ reason: "Unreadable", file, message: `cannot read ${file}: ${e.message}` })
    const size = Number((yield* fs.stat(file).pipe(Effect.mapError(unreadable))).size)
    if (size > limits.maxPoolBytes) {
      return yield* tooLarge(
        file,
        `is ${size} bytes, over the pool's limit of ${limits.maxPoolBytes}`,
        "MAX_POOL_BYTES",
      )
    }
    let tooMany = false
    const admit = (tx: Transaction) => {
      if (store.has(tx.hash)) return undefined
      if (store.size() >= limits.maxPoolTransactions) {
        tooMany = true
        return "too many transactions"
      }
      store.append(tx)
      return undefined
    }
    const scanner = makeJsonArrayScanner((text) => entryProblem(text, store.size() + 1, admit))
    // A buffer no bigger than the file: a 1 MiB buffer per node for an empty pool pushed every node of
    // a forming 20-node mesh into a full garbage collection (formation took 21% longer).
    const chunkSize = FileSystem.Size(Math.max(1, Math.min(size, readChunkBytes)))
    const problem = yield* fs.stream(file, { chunkSize }).pipe(
      Stream.mapError(unreadable),
      Stream.map((chunk) => scanner.push(chunk)),
      Stream.filter((error) => error !== undefined),
      Stream.runHead,
      Effect.map(Option.orElse(() => Option.fromNullable(scanner.end()))),
    )
    if (Option.isNone(problem)) return store
    if (tooMany) {
      const limit = limits.maxPoolTransactions
      return yield* tooLarge(file, `holds more than the pool's limit of ${limit} transactions`, "MAX_POOL_TRANSACTIONS")
    }
    return yield* new PoolError({
      reason: "Corrupt",
      file,
      message: `${file} is not a valid transaction pool (${problem.value}): fix it or move it away; a pool is a JSON array of transactions, e.g. [] or [{"fromAddress":null,"toAddress":"04ab","amount":5,"timeStamp":1700000000000,"hash":"<its sha-256>"}]`,
    })
  })
