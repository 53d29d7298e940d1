import { FileSystem, Path } from "@effect/platform"
import { Array as Arr, Config, Data, Effect, type Option } from "effect"
import { parseDotenv, renderDotenv } from "../domain/dotenv.js"
import { folderConfigProvider } from "../layers/NodeConfigFolder.js"
import { portAnswers } from "./portProbe.js"
import { portAfter } from "./ports.js"

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
const listNodeNumbers = (directory: string) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const names = yield* fs.readDirectory(directory)
    return names
      .map((name) => /^node-(\d+)$/.exec(name)?.[1])
      .filter((digits): digits is string => digits !== undefined)
      .map(Number)
      .sort((a, b) => a - b)
  })

/** The PORT of every readable `node-N` folder of `directory`. */
const folderPorts = (directory: string) =>
  Effect.map(readNodeFolders(directory), (folders) => Arr.getRights(folders).map((node) => node.port))

/** The next port after the highest node folder's that nothing answers on (node-1's own when it is alone). */
const nextFreePort = (used: ReadonlyArray<number>) =>
  Effect.gen(function* () {
    let port = portAfter(used, 4001)
    while (port < 65535 && (used.includes(port) || (yield* portAnswers(port)))) port++
    return port
  })

/**
 * Clones node-1 into `node-N` with node-1's other .env keys and known-peers.json, and an empty pool.
 * With no `number`, the next free one; with no `port`, the next free port after the highest node's.
 * Answers the new folder's path.
 */
export const cloneNode = (directory: string, options: { readonly number?: number; readonly port?: number } = {}) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const existing = yield* listNodeNumbers(directory)
    const target = options.number ?? firstFreeNumber(existing)
    const taken = Arr.getRights(yield* readNodeFolders(directory)).find((node) => node.port === options.port)
    if (taken !== undefined) {
      return yield* new NodeFolderError({ message: `port ${taken.port} is ${taken.name}'s: choose another --port` })
    }
    const port = options.port ?? (yield* nextFreePort(yield* folderPorts(directory)))
    const source = path.join(directory, "node-1")
    const folder = path.join(directory, `node-${target}`)
    const env = parseDotenv(yield* fs.readFileString(path.join(source, ".env")))
    env.set("PORT", String(port))
    yield* fs.makeDirectory(folder, { recursive: true })
    yield* fs.writeFileString(path.join(folder, ".env"), renderDotenv(env))
    yield* fs.copyFile(path.join(source, "known-peers.json"), path.join(folder, "known-peers.json"))
    // A clone starts with an empty pool, whatever node-1 holds: it catches up from its peers.
    yield* fs.writeFileString(path.join(folder, "transactions.json"), "[]")
    return folder
  })

const firstFreeNumber = (existing: ReadonlyArray<number>): number => {
  let candidate = 2
  while (existing.includes(candidate)) candidate++
  return candidate
}

/** Removes the given `node-N` folders of `directory`. */
export const removeNodeFolders = (directory: string, names: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    for (const name of names) yield* fs.remove(path.join(directory, name), { recursive: true })
  })

/** What the CLI needs to know about a node folder: its name, port and public key. */
export interface NodeFolder {
  readonly name: string
  readonly folder: string
  readonly port: number
  /** HOST: the interface the node listens on. */
  readonly host: string
  readonly publicKey: Option.Option<string>
}

/** Reads a node folder's .env (the environment overrides it, as it does for the node itself). */
export const readNodeFolder = (folder: string) =>
  Effect.gen(function* () {
    const path = yield* Path.Path
    const absolute = path.resolve(folder)
    const provider = yield* folderConfigProvider(absolute)
    const settings = yield* Effect.withConfigProvider(
      Config.all({
        port: Config.port("PORT"),
        host: Config.string("HOST").pipe(Config.withDefault("localhost")),
        publicKey: Config.option(Config.string("MY_PUBLIC_KEY")),
      }),
      provider,
    ).pipe(
      Effect.mapError(
        () => new NodeFolderError({ message: `${path.join(absolute, ".env")} has no valid PORT (e.g. PORT=4001)` }),
      ),
    )
    return { name: path.basename(absolute), folder: absolute, ...settings } satisfies NodeFolder
  })

/**
 * Every `node-N` folder of `directory`, in number order, each read on its own: one unreadable folder
 * is a Left with what to fix, and the others are still read.
 */
export const readNodeFolders = (directory: string) =>
  Effect.gen(function* () {
    const path = yield* Path.Path
    const numbers = yield* listNodeNumbers(directory).pipe(
      Effect.mapError(() => new NodeFolderError({ message: `cannot read the node folders in ${directory}` })),
    )
    return yield* Effect.forEach(numbers, (n) =>
      readNodeFolder(path.join(directory, `node-${n}`)).pipe(
        Effect.mapError((error): UnreadableFolder => ({ name: `node-${n}`, message: error.message })),
        Effect.either,
      ),
    )
  })

/** A node folder that could not be read, and why. */
export interface UnreadableFolder {
  readonly name: string
  readonly message: string
}

/** A node folder the CLI cannot use; the message says what to fix. */
export class NodeFolderError extends Data.TaggedError("NodeFolderError")<{ readonly message: string }> {}
