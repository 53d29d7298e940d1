import { Command } from "@effect/cli"
import { Path } from "@effect/platform"
import { Effect } from "effect"
import { cloneNode, nodesDirectory, readNodeFolder } from "./nodeFolders.js"
import { summary } from "./output.js"

/** `clone-node`: creates the next free nodes/node-N from node-1. */
export const cloneNodeCommand = Command.make("clone-node", {}, () =>
  Effect.gen(function* () {
    const path = yield* Path.Path
    const folder = yield* cloneNode(yield* nodesDirectory)
    const node = yield* readNodeFolder(folder)
    yield* summary(`created ${path.basename(folder)} (PORT=${node.port}) in ${path.dirname(folder)}`)
  }),
).pipe(Command.withDescription("Copies node-1 into the next free node-N folder, with PORT=4000+N and an empty pool."))
