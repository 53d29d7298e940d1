import { Args, Command } from "@effect/cli"
import { Path, Command as Process } from "@effect/platform"
import { Effect } from "effect"
import { nodeDetails } from "../usage.js"
import { ExitCode } from "./output.js"

const folder = Args.directory({ name: "NODE_FOLDER", exists: "yes" }).pipe(
  // The folder's files, environment and endpoints: here, so the command list stays one line a command.
  Args.withDescription(nodeDetails),
  Args.withDefault("."),
)

/** The command line that runs one node (src/main.ts under tsx), wherever the CLI was started from. */
export const nodeProcess = (folder: string) =>
  Effect.map(Path.Path, (path) =>
    Process.make(
      process.execPath,
      "--import",
      import.meta.resolve("tsx"),
      path.resolve(import.meta.dirname, "../main.ts"),
      folder,
    ),
  )

/**
 * `node <dir>`: runs one node in the foreground. It runs src/main.ts as it is, so the node has one
 * composition whichever way it is started.
 */
export const nodeCommand = Command.make("node", { folder }, ({ folder }) =>
  Effect.gen(function* () {
    const command = yield* nodeProcess(folder)
    const code = yield* command.pipe(
      Process.stdin("inherit"),
      Process.stdout("inherit"),
      Process.stderr("inherit"),
      Process.exitCode,
    )
    if (code !== 0) return yield* new ExitCode({ code, message: "" })
  }),
).pipe(Command.withDescription("Runs one node in the foreground until Ctrl-C (as `tsx src/main.ts`)."))
