import { Command } from "@effect/cli"
import { Effect } from "effect"
import { deleteNodes, nodesDirectory } from "./nodeFolders.js"
import { summary } from "./output.js"

/** `delete-nodes`: removes every node folder except node-1. */
export const deleteNodesCommand = Command.make("delete-nodes", {}, () =>
  Effect.gen(function* () {
    const removed = yield* deleteNodes(yield* nodesDirectory)
    yield* summary(removed.length === 0 ? "no node folders to delete" : `deleted ${removed.join(", ")}`)
  }),
).pipe(Command.withDescription("Removes every node-N folder except node-1."))
