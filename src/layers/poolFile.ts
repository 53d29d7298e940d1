import { close, closeSync, fsync, open, openSync, rename, writev, writevSync } from "node:fs"
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

/**
 * Files up to this size are opened, written and closed with plain calls, and only the fsync and the
 * rename go to the thread pool: the page cache takes a small file in microseconds, less than each step
 * handed to the thread pool costs in wake-ups. Larger files (a big pool, a burst) go all the way
 * asynchronously, so the event loop is never held for long.
 */
const plainWriteLimit = 256 * 1024

/**
 * Replaces `file` atomically: write a temporary file, fsync it, rename it over the old one, then call
 * `done` (with the error, if a step failed). A small file is written with plain calls and fsynced and
 * renamed on libuv's thread pool; a large one takes every step there, one after another. Either way
 * the event loop goes on meanwhile. `parts` must not change until `done` (the rendered pool only
 * appends past them).
 */
export const writeFileAtomic = (
  file: string,
  parts: ReadonlyArray<Uint8Array>,
  done: (error: PoolError | undefined) => void,
  /** POOL_FSYNC: off, the temporary file is renamed without its fsync. */
  sync = true,
): void => {
  const temporary = `${file}.tmp-${process.pid}`
  const fail = (error: unknown) => done(new PoolError({ reason: "WriteFailed", file, message: String(error) }))
  const succeed = () => done(undefined)
  const size = parts.reduce((total, part) => total + part.byteLength, 0)
  if (size <= plainWriteLimit) {
    writeSmall(temporary, file, parts, sync ? fsync : skipFsync, fail, succeed)
    return
  }
  open(temporary, "w", (openError, descriptor) => {
    if (openError) return fail(openError)
    writeAll(descriptor, parts, (writeError) => {
      // Whatever failed, the descriptor is closed before the outcome is reported.
      const closeThenRename = (syncError: Error | null) =>
        close(descriptor, (closeError) => {
          const error = writeError ?? syncError ?? closeError
          if (error) return fail(error)
          rename(temporary, file, (renameError) => (renameError ? fail(renameError) : succeed()))
        })
      if (writeError || !sync) return closeThenRename(null)
      fsync(descriptor, closeThenRename)
    })
  })
}

/** The small-file way: open and write with plain calls, fsync on the thread pool, close, rename there too. */
const writeSmall = (
  temporary: string,
  file: string,
  parts: ReadonlyArray<Uint8Array>,
  syncFile: (descriptor: number, callback: (error: NodeJS.ErrnoException | null) => void) => void,
  fail: (error: unknown) => void,
  done: () => void,
) => {
  let descriptor: number
  try {
    descriptor = openSync(temporary, "w")
  } catch (error) {
    return fail(error)
  }
  const closeQuietly = () => {
    try {
      closeSync(descriptor)
    } catch {}
  }
  try {
    writeAllSync(descriptor, parts)
  } catch (error) {
    closeQuietly()
    return fail(error)
  }
  syncFile(descriptor, (syncError) => {
    try {
      closeSync(descriptor)
    } catch (error) {
      return fail(syncError ?? error)
    }
    if (syncError) return fail(syncError)
    // On the thread pool too: a rename waits for the file system's journal, which other processes'
    // fsyncs may hold for a while, and the event loop must not wait with it.
    rename(temporary, file, (renameError) => (renameError ? fail(renameError) : done()))
  })
}

/** An fsync that syncs nothing (POOL_FSYNC=false), answering as the thread pool would: later, not now. */
const skipFsync = (_descriptor: number, callback: (error: NodeJS.ErrnoException | null) => void): void => {
  setImmediate(callback, null)
}

/** Drops from `pending` (in place) the `written` bytes a writev took from its front. */
const advance = (pending: Array<Uint8Array>, written: number) => {
  let rest = written
  while (pending.length > 0 && rest >= (pending[0]?.byteLength ?? 0)) rest -= pending.shift()?.byteLength ?? 0
  const first = pending[0]
  if (first !== undefined && rest > 0) pending[0] = first.subarray(rest)
}

/** Writes every part with plain calls, however many writev needs. */
const writeAllSync = (descriptor: number, parts: ReadonlyArray<Uint8Array>) => {
  const pending = parts.filter((part) => part.byteLength > 0)
  while (pending.length > 0) advance(pending, writevSync(descriptor, pending))
}

/** Writes every part, however many calls writev needs, then calls `done`. */
const writeAll = (descriptor: number, parts: ReadonlyArray<Uint8Array>, done: (error: Error | null) => void) => {
  const pending = parts.filter((part) => part.byteLength > 0)
  const next = (error: Error | null, written: number) => {
    if (error) return done(error)
    advance(pending, written)
    if (pending.length === 0) return done(null)
    writev(descriptor, pending, next)
  }
  next(null, 0)
}
