import { FileSystem, Path } from "@effect/platform"
import { Config, Effect } from "effect"
import { parseDotenv, renderDotenv } from "../domain/dotenv.js"

/** Where node folders live: `NODES_DIR`, or the repository's `nodes/`. */
export const nodesDirectory = Effect.gen(function* () {
  const path = yield* Path.Path
  const fallback = path.resolve(import.meta.dirname, "../../nodes")
  return yield* Config.string("NODES_DIR").pipe(
    Config.withDefault(fallback),
    Config.map((dir) => path.resolve(dir)),
  )
})

/** The numbers of the `node-N` folders present, ascending. */
export const listNodeNumbers = (directory: string) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const names = yield* fs.readDirectory(directory)
    return names
      .map((name) => /^node-(\d+)$/.exec(name)?.[1])
      .filter((digits): digits is string => digits !== undefined)
      .map(Number)
      .sort((a, b) => a - b)
  })

/**
 * Clones node-1 into `node-N`: PORT=4000+N, node-1's other .env keys and known-peers.json kept,
 * an empty pool. With no N, the next free number. Answers the new folder's path.
 */
export const cloneNode = (directory: string, number?: number) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const existing = yield* listNodeNumbers(directory)
    const target = number ?? firstFreeNumber(existing)
    const source = path.join(directory, "node-1")
    const folder = path.join(directory, `node-${target}`)
    const env = parseDotenv(yield* fs.readFileString(path.join(source, ".env")))
    env.set("PORT", String(4000 + target))
    yield* fs.makeDirectory(folder, { recursive: true })
    yield* fs.writeFileString(path.join(folder, ".env"), renderDotenv(env))
    yield* fs.copyFile(path.join(source, "known-peers.json"), path.join(folder, "known-peers.json"))
    yield* fs.writeFileString(path.join(folder, "transactions.json"), "[]")
    return folder
  })

const firstFreeNumber = (existing: ReadonlyArray<number>): number => {
  let candidate = 2
  while (existing.includes(candidate)) candidate++
  return candidate
}

/** Removes every `node-N` folder except node-1; answers the names removed. */
export const deleteNodes = (directory: string) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const numbers = (yield* listNodeNumbers(directory)).filter((n) => n !== 1)
    for (const n of numbers) yield* fs.remove(path.join(directory, `node-${n}`), { recursive: true })
    return numbers.map((n) => `node-${n}`)
  })
