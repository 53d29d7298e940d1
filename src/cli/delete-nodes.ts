import { Command, Options } from "@effect/cli"
import { Array as Arr, Console, Effect, Either } from "effect"
import { nodesDirectory, readNodeFolders, removeNodeFolders } from "./nodeFolders.js"
import { ExitCode, summary } from "./output.js"
import { portAnswers, probeHost } from "./portProbe.js"

const force = Options.boolean("force").pipe(
  Options.withDescription("delete folders whose node is running too (its port answers)"),
)
const dryRun = Options.boolean("dry-run").pipe(Options.withDescription("only list what would be deleted"))

/** `delete-nodes`: removes every node folder except node-1, never a running node's unless --force. */
export const deleteNodesCommand = Command.make("delete-nodes", { force, dryRun }, (options) =>
  Effect.gen(function* () {
    const directory = yield* nodesDirectory
    const folders = (yield* readNodeFolders(directory)).filter((folder) => Either.merge(folder).name !== "node-1")
    const names = folders.map((folder) => Either.merge(folder).name)
    if (names.length === 0) return yield* summary("no node folders to delete")
    const running = yield* Effect.filter(
      Arr.getRights(folders),
      (node) => portAnswers(node.port, probeHost(node.host)),
      {
        concurrency: "unbounded",
      },
    )
    const runningNote = running.map((node) => `${node.name} (port ${node.port})`).join(", ")
    const one = running.length === 1
    yield* Console.log(`node folders to delete in ${directory}: ${names.join(", ")}`)
    if (running.length > 0 && !options.force) {
      return yield* new ExitCode({
        code: 1,
        message: `delete-nodes: ${runningNote} ${one ? "is" : "are"} running: stop ${one ? "it" : "them"} first, or pass --force; nothing was deleted`,
      })
    }
    if (options.dryRun)
      return yield* summary(`nothing deleted (--dry-run)${running.length > 0 ? `; running: ${runningNote}` : ""}`)
    yield* removeNodeFolders(directory, names)
    yield* summary(`deleted ${names.join(", ")}${running.length > 0 ? ` (with --force: ${runningNote} running)` : ""}`)
  }),
).pipe(
  Command.withDescription(
    "Removes every node-N folder except node-1, listing them first; refuses while any of their nodes runs, unless --force.",
  ),
)
