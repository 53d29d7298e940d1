import { close, closeSync, fsync, open, openSync, rename, writev, writevSync } from "node:fs"
import { PoolError } from "../services/TransactionPool.js"

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
