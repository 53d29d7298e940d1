import { Command, HelpDoc, type Usage, type ValidationError } from "@effect/cli"
import { closest, suggestion } from "./didYouMean.js"
import { stripAnsi } from "./output.js"

/** Every option a command's usage names (`--json`, `--port`), for suggestions. */
const optionNames = (usage: Usage.Usage): Array<string> => {
  switch (usage._tag) {
    case "Named":
      return usage.names.filter((name) => name.startsWith("-"))
    case "Optional":
    case "Repeated":
      return optionNames(usage.usage)
    case "Alternation":
    case "Concat":
      return [...optionNames(usage.left), ...optionNames(usage.right)]
    default:
      return []
  }
}

/** What suggestions need to know of a command: its name and its options. */
export interface CommandNames {
  readonly name: string
  readonly options: ReadonlyArray<string>
}

export const commandNames = <Name extends string, R, E, A>(command: Command.Command<Name, R, E, A>): CommandNames => ({
  name: [...Command.getNames(command)][0] ?? "",
  options: [...optionNames(Command.getUsage(command)), "--help", "--version"],
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
  const options = command.options
  const corrected = /^The flag '(.*)' is not recognized\. Did you mean '(.*)'\?$/s.exec(text)
  if (corrected !== null) {
    return { command: first, message: `unknown option '${corrected[1]}'; did you mean '${corrected[2]}'?` }
  }
  const unknown = /^Received unknown argument: '(.*)'$/s.exec(text)?.[1]
  if (unknown === undefined) return { command: first, message: lastLine(text) }
  if (unknown.startsWith("-"))
    return { command: first, message: `unknown option '${unknown}'${suggestion(unknown, options)}` }
  const meant = closest(`--${unknown}`, options)
  return {
    command: first,
    message: `unexpected argument '${unknown}'${meant === undefined ? "" : `; did you mean '${meant}'?`}`,
  }
}
