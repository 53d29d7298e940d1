import { Path } from "@effect/platform"
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Console, Effect } from "effect"
import { cloneNode, nodesDirectory } from "./nodeFolders.js"

/** `npm run clone-node`: creates the next free nodes/node-N and prints its name. */
Effect.gen(function* () {
  const path = yield* Path.Path
  const folder = yield* cloneNode(yield* nodesDirectory)
  yield* Console.log(path.basename(folder))
}).pipe(Effect.provide(NodeContext.layer), NodeRuntime.runMain)
