import { Args, Command, Options } from "@effect/cli"
import { Path, Command as Process } from "@effect/platform"
import { Effect, Option, Schema } from "effect"
import { nodeDetails } from "../usage.js"
import { ExitCode } from "./output.js"

const folder = Args.directory({ name: "NODE_FOLDER", exists: "yes" }).pipe(
  // The folder's files, environment and endpoints: here, so the command list stays one line a command.
  Args.withDescription(nodeDetails),
  Args.withDefault("."),
)

/** The command line that runs one node (src/main.ts under tsx), wherever the CLI was started from. */
export const nodeProcess = (folder: string, options: ReadonlyArray<string> = []) =>
  Effect.map(Path.Path, (path) =>
    Process.make(
      process.execPath,
      "--import",
      import.meta.resolve("tsx"),
      path.resolve(import.meta.dirname, "../main.ts"),
      folder,
      ...options,
    ),
  )

const port = Options.integer("port").pipe(
  Options.withSchema(
    Schema.Int.pipe(Schema.between(1, 65535, { message: () => "--port takes a port from 1 to 65535" })),
  ),
  Options.withDescription("the port to listen on, instead of the folder's PORT"),
  Options.optional,
)
const host = Options.text("host").pipe(
  Options.withDescription("the interface to listen on, instead of HOST (default localhost), e.g. 0.0.0.0"),
  Options.optional,
)

/**
 * `node <dir>`: runs one node in the foreground. It runs src/main.ts as it is, so the node has one
 * composition whichever way it is started.
 */
export const nodeCommand = Command.make("node", { folder, port, host }, (options) =>
  Effect.gen(function* () {
    const command = yield* nodeProcess(options.folder, [
      ...Option.match(options.port, { onNone: () => [], onSome: (p) => ["--port", String(p)] }),
      ...Option.match(options.host, { onNone: () => [], onSome: (h) => ["--host", h] }),
    ])
    const code = yield* command.pipe(
      Process.stdin("inherit"),
      Process.stdout("inherit"),
      Process.stderr("inherit"),
      Process.exitCode,
    )
    if (code !== 0) return yield* new ExitCode({ code, message: "" })
  }),
).pipe(Command.withDescription("Runs one node in the foreground until Ctrl-C (as `tsx src/main.ts`)."))
