import { Either } from "effect"
import { parsePort } from "../domain/port.js"
import { suggestion } from "./didYouMean.js"

/** What `tsx src/main.ts` was asked to do. */
export type NodeArguments =
  | { readonly _tag: "Help" }
  | { readonly _tag: "Version" }
  | {
      readonly _tag: "Run"
      readonly folder: string
      /** --port and --host, as the configuration keys they override (PORT, HOST). */
      readonly overrides: ReadonlyMap<string, string>
    }

const valued = { "--port": "PORT", "--host": "HOST" } as const
const known = [...Object.keys(valued), "--help", "--version"]

const isValued = (name: string): name is keyof typeof valued => Object.hasOwn(valued, name)

/** One option's value, checked; a port must be a port. */
const checkValue = (name: keyof typeof valued, value: string | undefined): Either.Either<string, string> => {
  if (value === undefined || value === "")
    return Either.left(`${name} needs a value, e.g. ${name} ${name === "--port" ? "4001" : "127.0.0.1"}`)
  if (name === "--host") return Either.right(value)
  return Either.mapBoth(parsePort(value), {
    onLeft: () => `--port takes a port from 1 to 65535, not ${JSON.stringify(value)}`,
    onRight: String,
  })
}

/**
 * Reads the node's command line: `[NODE_FOLDER] [--port N] [--host H]`, `--help`, `--version`.
 * Left is the one line to print for a command line that cannot be run.
 */
export const parseNodeArguments = (args: ReadonlyArray<string>): Either.Either<NodeArguments, string> => {
  const overrides = new Map<string, string>()
  const folders: Array<string> = []
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? ""
    if (arg === "--help" || arg === "-h") return Either.right({ _tag: "Help" })
    if (arg === "--version") return Either.right({ _tag: "Version" })
    const [name = "", inline] = arg.startsWith("--") ? arg.split(/=(.*)/s, 2) : [arg]
    if (isValued(name)) {
      const value = checkValue(name, inline ?? args[++i])
      if (Either.isLeft(value)) return Either.left(value.left)
      overrides.set(valued[name], value.right)
    } else if (arg.startsWith("-") && arg !== "-") {
      return Either.left(`unknown option '${name}'${suggestion(name, known)}`)
    } else {
      folders.push(arg)
    }
  }
  if (folders.length > 1) {
    return Either.left(`one NODE_FOLDER only, got ${folders.map((f) => `'${f}'`).join(" and ")}`)
  }
  return Either.right({ _tag: "Run", folder: folders[0] ?? ".", overrides })
}
