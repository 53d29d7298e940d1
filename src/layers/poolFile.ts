import { close, closeSync, fsync, open, openSync, rename, writev, writevSync } from "node:fs"
import { FileSystem } from "@effect/platform"
import { Effect, Either, Schema } from "effect"
import { oneLineParseError } from "../domain/configProblem.js"
import { Transaction } from "../domain/Transaction.js"
import { PoolError } from "../services/TransactionPool.js"

const decodePool = Schema.decodeUnknownEither(Schema.parseJson(Schema.Array(Transaction)), { errors: "first" })

/**
 * Reads a pool file. A missing file is created as `[]`; an unreadable, corrupt or wrongly-shaped one
 * is an error that names the file and the problem, and is never overwritten.
 */
export const readPoolFile = (file: string) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const exists = yield* fs.exists(file).pipe(Effect.orElseSucceed(() => false))
    if (!exists) {
      yield* fs
        .writeFileString(file, "[]")
        .pipe(Effect.mapError((e) => new PoolError({ reason: "WriteFailed", file, message: e.message })))
      return []
    }
    const text = yield* fs
      .readFileString(file)
      .pipe(Effect.mapError((e) => new PoolError({ reason: "Unreadable", file, message: e.message })))
    const decoded = decodePool(text)
    if (Either.isLeft(decoded)) {
      return yield* new PoolError({
        reason: "Corrupt",
        file,
        message: `${file} is not a valid transaction pool (${oneLineParseError(decoded.left)}): fix it or move it away; a pool is a JSON array of transactions, e.g. [] or [{"fromAddress":null,"toAddress":"04ab","amount":5,"timeStamp":1700000000000,"hash":"<its sha-256>"}]`,
      })
    }
    return decoded.right
  })

/** One transaction as `JSON.stringify(pool, null, 2)` prints it inside the array. */
export const renderPoolEntry = (tx: Transaction): string => `  ${JSON.stringify(tx, null, 2).replaceAll("\n", "\n  ")}`

const opening = Buffer.from("[\n")
const closing = Buffer.from("\n]")
const separator = Buffer.from(",\n")
const empty = Buffer.from("[]")

/**
 * The file's bytes, kept rendered and extended as transactions are added: each entry is rendered
 * and encoded once, into one buffer that grows by doubling, so a write costs a copy of the bytes and
 * no allocation, whatever the size of the pool.
 */
export const makeRenderedPool = (initial: ReadonlyArray<Transaction>) => {
  let body = Buffer.allocUnsafe(64 * 1024)
  let used = 0
  let count = 0
  const reserve = (bytes: number) => {
    if (used + bytes <= body.length) return
    const grown = Buffer.allocUnsafe(Math.max(body.length * 2, used + bytes))
    body.copy(grown, 0, 0, used)
    body = grown
  }
  const append = (tx: Transaction) => {
    const entry = renderPoolEntry(tx)
    reserve(separator.length + Buffer.byteLength(entry))
    if (count > 0) used += separator.copy(body, used)
    used += body.write(entry, used)
    count++
  }
  for (const tx of initial) append(tx)
  return {
    append,
    /** How many entries are rendered. */
    count: () => count,
    /** The file's size in bytes. */
    bytes: () => (count === 0 ? empty.length : opening.length + used + closing.length),
    /** The whole file as it stands, as views on the rendered bytes (valid until the next append). */
    file: (): ReadonlyArray<Uint8Array> => (count === 0 ? [empty] : [opening, body.subarray(0, used), closing]),
  }
}

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
