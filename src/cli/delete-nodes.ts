import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Console, Effect } from "effect"
import { deleteNodes, nodesDirectory } from "./nodeFolders.js"

/** `npm run delete-nodes`: removes every node folder except node-1. */
Effect.gen(function* () {
  const removed = yield* deleteNodes(yield* nodesDirectory)
  yield* Console.log(removed.length === 0 ? "no node folders to delete" : `deleted ${removed.join(", ")}`)
}).pipe(Effect.provide(NodeContext.layer), NodeRuntime.runMain)
