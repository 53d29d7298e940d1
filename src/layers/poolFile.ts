import { closeSync, fsync, openSync, renameSync, writeFileSync } from "node:fs"
import { FileSystem } from "@effect/platform"
import { Effect, Either, ParseResult, Schema } from "effect"
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
        message: `${file} is not a valid transaction pool (a JSON array of transactions): ${ParseResult.TreeFormatter.formatErrorSync(decoded.left)}`,
      })
    }
    return decoded.right
  })

/** One transaction as `JSON.stringify(pool, null, 2)` prints it inside the array. */
export const renderPoolEntry = (tx: Transaction): string => `  ${JSON.stringify(tx, null, 2).replaceAll("\n", "\n  ")}`

/** The whole file from its rendered entries: byte for byte `JSON.stringify(pool, null, 2)`. */
export const renderPool = (entries: ReadonlyArray<string>): string =>
  entries.length === 0 ? "[]" : `[\n${entries.join(",\n")}\n]`

/**
 * The file's text for the first `count` of a growing list of rendered entries, extended from the
 * last call rather than joined anew: each write costs what was added, not the whole pool.
 */
export const makeRenderedPool = (entries: ReadonlyArray<string>) => {
  let body = ""
  let included = 0
  return {
    upTo: (count: number): string => {
      if (count > included) {
        const added = entries.slice(included, count).join(",\n")
        body = included === 0 ? added : `${body},\n${added}`
        included = count
      }
      return included === 0 ? "[]" : `[\n${body}\n]`
    },
  }
}

/** Replaces `file` atomically: write a temporary file, fsync it, rename it over the old one. */
export const writeFileAtomic = (file: string, text: string) => {
  const temporary = `${file}.tmp-${process.pid}`
  const fail = (error: unknown) => new PoolError({ reason: "WriteFailed", file, message: String(error) })
  return Effect.acquireUseRelease(
    // Writing into the page cache is quick and done in place; only the fsync, which waits for the
    // disk, goes to the thread pool, so the node keeps handling frames meanwhile.
    Effect.try({ try: () => openSync(temporary, "w"), catch: fail }),
    (descriptor) =>
      Effect.try({ try: () => writeFileSync(descriptor, text), catch: fail }).pipe(
        Effect.andThen(
          Effect.async<void, PoolError>((resume) => {
            fsync(descriptor, (error) => resume(error ? Effect.fail(fail(error)) : Effect.void))
          }),
        ),
      ),
    (descriptor) => Effect.sync(() => closeSync(descriptor)),
  ).pipe(Effect.andThen(Effect.try({ try: () => renameSync(temporary, file), catch: fail })))
}
