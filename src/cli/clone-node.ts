import { Command, Options } from "@effect/cli"
import { Path } from "@effect/platform"
import { Effect, Option, Schema } from "effect"
import { cloneNode, nodesDirectory, readNodeFolder } from "./nodeFolders.js"
import { summary } from "./output.js"

const port = Options.integer("port").pipe(
  Options.withSchema(
    Schema.Int.pipe(Schema.between(1, 65535, { message: () => "--port takes a port from 1 to 65535" })),
  ),
  Options.withDescription("the new node's PORT; default: the next free port after the highest node folder's"),
  Options.optional,
)

/** `clone-node`: creates the next free nodes/node-N from node-1. */
export const cloneNodeCommand = Command.make("clone-node", { port }, (options) =>
  Effect.gen(function* () {
    const path = yield* Path.Path
    const folder = yield* cloneNode(
      yield* nodesDirectory,
      Option.match(options.port, { onNone: () => ({}), onSome: (p) => ({ port: p }) }),
    )
    const node = yield* readNodeFolder(folder)
    yield* summary(`created ${path.basename(folder)} (PORT=${node.port}) in ${path.dirname(folder)}`)
  }),
).pipe(
  Command.withDescription(
    "Copies node-1 into the next free node-N folder with an empty pool, on the next free port after the highest node's (or --port).",
  ),
)
