import { Command, FileSystem, Path } from "@effect/platform"
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Console, Effect, Stream } from "effect"
import { cloneNode, nodesDirectory } from "./nodeFolders.js"

const colours = [36, 33, 35, 32, 34, 31]

/** Parses `--nodes N` (default 3). */
const nodeCount = (args: ReadonlyArray<string>): number => {
  const index = args.indexOf("--nodes")
  const value = index === -1 ? 3 : Number(args[index + 1])
  if (!Number.isInteger(value) || value < 1 || value > 50) {
    process.stderr.write("network: --nodes takes a whole number from 1 to 50\n")
    process.exit(2)
  }
  return value
}

/** Starts one node as a child process, every line of its output prefixed with its name. */
const startNode = (folder: string, name: string, colour: number) =>
  Effect.gen(function* () {
    const path = yield* Path.Path
    const main = path.resolve(import.meta.dirname, "../main.ts")
    const process_ = yield* Command.make(process.execPath, "--import", "tsx", main, folder).pipe(
      Command.env({ FORCE_COLOR: process.env.FORCE_COLOR ?? "" }),
      Command.start,
    )
    const prefix = process.stdout.isTTY ? `\x1b[${colour}m[${name}]\x1b[0m ` : `[${name}] `
    const relay = (stream: Stream.Stream<Uint8Array, unknown>) =>
      stream.pipe(
        Stream.decodeText(),
        Stream.splitLines,
        Stream.runForEach((line) => Console.log(prefix + line)),
        Effect.ignore,
      )
    yield* Effect.forkScoped(relay(process_.stdout))
    yield* Effect.forkScoped(relay(process_.stderr))
    return process_
  })

/** `npm start`: a local network of N nodes (default 3) in one terminal; Ctrl-C stops them all. */
Effect.gen(function* () {
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const directory = yield* nodesDirectory
  const count = nodeCount(process.argv.slice(2))
  const names = Array.from({ length: count }, (_, i) => `node-${i + 1}`)
  for (const [i, name] of names.entries()) {
    if (!(yield* fs.exists(path.join(directory, name)))) {
      yield* cloneNode(directory, i + 1)
      yield* Console.log(`created nodes/${name}`)
    }
  }
  const processes = yield* Effect.forEach(names, (name, i) =>
    startNode(path.join(directory, name), name, colours[i % colours.length] ?? 36),
  )
  yield* Console.log(`started ${names.join(", ")}: Ctrl-C stops them all`)
  yield* Effect.forEach(processes, (process_) => process_.exitCode, { concurrency: "unbounded" })
}).pipe(Effect.scoped, Effect.provide(NodeContext.layer), NodeRuntime.runMain)
