import { Command, HelpDoc, type Usage, type ValidationError } from "@effect/cli"
import { Option } from "effect"
import { closest, suggestion } from "./didYouMean.js"
import { stripAnsi } from "./output.js"

/** Every option a command's usage names (`--json`, `--port`), and whether it takes a value. */
const optionsOf = (usage: Usage.Usage): Array<{ readonly name: string; readonly valued: boolean }> => {
  switch (usage._tag) {
    case "Named":
      return usage.names
        .filter((name) => name.startsWith("-"))
        .map((name) => ({ name, valued: Option.isSome(usage.acceptedValues) }))
    case "Optional":
    case "Repeated":
      return optionsOf(usage.usage)
    case "Alternation":
    case "Concat":
      return [...optionsOf(usage.left), ...optionsOf(usage.right)]
    default:
      return []
  }
}

/** What suggestions need to know of a command: its name and its options. */
export interface CommandNames {
  readonly name: string
  readonly options: ReadonlyArray<string>
  /** The options that take a value (`--port N`). */
  readonly valued: ReadonlyArray<string>
}

export const commandNames = <Name extends string, R, E, A>(command: Command.Command<Name, R, E, A>): CommandNames => ({
  name: [...Command.getNames(command)][0] ?? "",
  options: [...optionsOf(Command.getUsage(command)).map((option) => option.name), "--help", "--version"],
  valued: optionsOf(Command.getUsage(command))
    .filter((option) => option.valued)
    .map((option) => option.name),
})

/** The last line of a multi-line reason (a Schema failure's tree) is its innermost, most specific cause. */
const lastLine = (text: string): string =>
  text
    .split("\n")
    .map((line) => line.replace(/^[\s└├│─]+/u, "").trim())
    .filter((line) => line !== "")
    .at(-1) ?? text

/**
 * One line for a command line @effect/cli refused (it says so in paragraphs of help): what was
 * wrong and, where something close exists, what was probably meant. `args` are the arguments after
 * `meshnode`.
 */
export const describeArgumentError = (
  error: ValidationError.ValidationError,
  args: ReadonlyArray<string>,
  commands: ReadonlyArray<CommandNames>,
): { readonly command: string | undefined; readonly message: string } => {
  const text = "error" in error ? stripAnsi(HelpDoc.toAnsiText(error.error)).trim() : String(error)
  const names = commands.map((command) => command.name)
  const [first = ""] = args
  const command = commands.find((c) => c.name === first)
  if (command === undefined) {
    const message = first.startsWith("-")
      ? `unknown option '${first}'; put a command first: ${names.join(", ")}`
      : `unknown command '${first}'${suggestion(first, names)}`
    return { command: undefined, message }
  }
  const corrected = /^The flag '(.*)' is not recognized\. Did you mean '(.*)'\?$/s.exec(text)
  const unknown = corrected?.[1] ?? /^Received unknown argument: '(.*)'$/s.exec(text)?.[1]
  if (unknown === undefined) return { command: first, message: lastLine(text) }
  return { command: first, message: describeUnknown(unknown, args, command) }
}

/** An argument @effect/cli did not take: a known option without its value or given twice, a typo, or an extra. */
const describeUnknown = (unknown: string, args: ReadonlyArray<string>, command: CommandNames): string => {
  if (command.valued.includes(unknown) && args.at(-1) === unknown) return `${unknown} needs a value`
  if (command.options.includes(unknown)) return `${unknown} is given more than once`
  if (unknown.startsWith("-")) return `unknown option '${unknown}'${suggestion(unknown, command.options)}`
  const meant = closest(`--${unknown}`, command.options)
  return `unexpected argument '${unknown}'${meant === undefined ? "" : `; did you mean '${meant}'?`}`
}
