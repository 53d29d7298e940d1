import { CliConfig, Command, ValidationError } from "@effect/cli"
import { FetchHttpClient } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { Cause, Console, Effect, Exit, Layer, Option } from "effect"
import * as Tracing from "../layers/Tracing.js"
import * as TransportWs from "../layers/TransportWs.js"
import { version } from "../usage.js"
import { addTransactionCommand } from "./add-transaction.js"
import { commandNames, describeArgumentError } from "./argumentErrors.js"
import { cloneNodeCommand } from "./clone-node.js"
import { deleteNodesCommand } from "./delete-nodes.js"
import { networkCommand } from "./network.js"
import { nodeCommand } from "./node.js"
import { colourOn, ExitCode, stripAnsi } from "./output.js"
import { statusCommand } from "./status.js"

/** `meshnode`: every operator command under one roof. */
export const meshnode = Command.make("meshnode").pipe(
  Command.withDescription(
    "A peer-to-peer WebSocket gossip network. Node folders are node-1, node-2, ... in NODES_DIR (default: the " +
      "repository's nodes/). Run `meshnode <command> --help` for a command's arguments.",
  ),
  Command.withSubcommands([
    nodeCommand,
    networkCommand,
    cloneNodeCommand,
    deleteNodesCommand,
    addTransactionCommand,
    statusCommand,
  ]),
)

const cli = Command.run(meshnode, { name: "meshnode", version })

/** Names and options of every command, for "did you mean" on a bad command line. */
const commandList = [
  commandNames(nodeCommand),
  commandNames(networkCommand),
  commandNames(cloneNodeCommand),
  commandNames(deleteNodesCommand),
  commandNames(addTransactionCommand),
  commandNames(statusCommand),
]

const describe = (error: unknown): string =>
  typeof error === "object" && error !== null && "message" in error && typeof error.message === "string"
    ? error.message
    : String(error)

/**
 * Exit codes: 0 done, 1 the operation failed (the message says why), 2 bad arguments. Either way the
 * reason is one line on stderr.
 */
const toExitCode = (
  error: unknown,
  args: ReadonlyArray<string>,
  captured: ReadonlyArray<string>,
): Effect.Effect<never, ExitCode> => {
  if (ValidationError.isValidationError(error)) {
    const { command, message } = describeArgumentError(error, args, commandList)
    const where = command === undefined ? "meshnode" : `meshnode ${command}`
    return Effect.zipRight(
      Console.error(`${where}: ${message} (see ${where} --help)`),
      Effect.fail(new ExitCode({ code: 2, message: "" })),
    )
  }
  const exit = error instanceof ExitCode ? error : new ExitCode({ code: 1, message: describe(error) })
  return Effect.zipRight(
    Effect.zipRight(flush(captured), exit.message === "" ? Effect.void : Console.error(`meshnode: ${exit.message}`)),
    Effect.fail(exit),
  )
}

const flush = (lines: ReadonlyArray<string>) => Effect.forEach(lines, (line) => Console.error(line), { discard: true })

/** @effect/cli prints a refused command line as paragraphs of help on stderr; hold them for our one line. */
const holdingErrors =
  (lines: Array<string>) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>) =>
    Effect.consoleWith((console) =>
      Effect.withConsole(effect, {
        ...console,
        error: (...args) => Effect.sync(() => void lines.push(args.map(String).join(" "))),
      }),
    )

/** Help texts come with ANSI styles; a pipe or a file gets them as plain text. */
const withPlainTextWhenPiped = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  colourOn(process.stdout)
    ? effect
    : Effect.consoleWith((console) =>
        Effect.withConsole(effect, {
          ...console,
          log: (...args) => console.log(...args.map((arg) => (typeof arg === "string" ? stripAnsi(arg) : arg))),
          error: (...args) => console.error(...args.map((arg) => (typeof arg === "string" ? stripAnsi(arg) : arg))),
        }),
      )

const CliLive = Layer.mergeAll(
  CliConfig.layer({ showBuiltIns: false }),
  TransportWs.layer(),
  FetchHttpClient.layer,
  Tracing.layer("meshnode-cli"),
).pipe(Layer.provideMerge(NodeContext.layer))

/** Runs the CLI on `argv` (as process.argv: node, script, then the arguments). */
export const runCli = (argv: ReadonlyArray<string>) =>
  Effect.suspend(() => {
    const captured: Array<string> = []
    return cli(argv).pipe(
      holdingErrors(captured),
      Effect.tap(() => flush(captured)),
      Effect.provide(CliLive),
      Effect.catchAll((error) => toExitCode(error, argv.slice(2), captured)),
    )
  }).pipe(
    Effect.tapDefect((defect) => Console.error(`meshnode: unexpected failure: ${Cause.pretty(defect)}`)),
    withPlainTextWhenPiped,
  )

/** The process exit code for how the CLI ended. */
export const exitCodeOf = (exit: Exit.Exit<unknown, unknown>): number => {
  if (Exit.isSuccess(exit) || Cause.isInterruptedOnly(exit.cause)) return 0
  const failure = Cause.failureOption(exit.cause)
  return Option.isSome(failure) && failure.value instanceof ExitCode ? failure.value.code : 1
}
