import { Console, Data, Effect } from "effect"

/** Colour only on a terminal, and never with NO_COLOR set. */
export const colourOn = (stream: NodeJS.WriteStream): boolean =>
  stream.isTTY === true && (process.env.NO_COLOR ?? "") === ""

const paint = (code: number, text: string): string => (colourOn(process.stdout) ? `\x1b[${code}m${text}\x1b[0m` : text)
export const green = (text: string) => paint(32, text)
export const red = (text: string) => paint(31, text)
export const dim = (text: string) => paint(2, text)
export const bold = (text: string) => paint(1, text)

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching ANSI escapes is the point
const ansi = /\x1b\[[0-9;]*m/g
export const stripAnsi = (text: string): string => text.replace(ansi, "")

/** A command's failure that ends the process with `code` after its message was printed. */
export class ExitCode extends Data.TaggedError("ExitCode")<{ readonly code: number; readonly message: string }> {}

/**
 * Progress of a long operation: one line rewritten in place on a terminal, a line per quarter
 * otherwise (so logs and tests see it without being flooded).
 */
export const makeProgress = (label: string, total: number) => {
  const tty = process.stdout.isTTY === true
  let lastQuarter = 0
  const update = (done: number) =>
    Effect.sync(() => {
      if (tty) {
        const width = 24
        const filled = Math.round((done / Math.max(1, total)) * width)
        process.stdout.write(`\r${label} ${"█".repeat(filled)}${"░".repeat(width - filled)} ${done}/${total}`)
        if (done >= total) process.stdout.write("\n")
        return
      }
      const quarter = Math.floor((done / Math.max(1, total)) * 4)
      if (quarter > lastQuarter || done === total) {
        lastQuarter = quarter
        process.stdout.write(`${label} ${done}/${total}\n`)
      }
    })
  return { update }
}

/** A one-line summary: every command ends with one. */
export const summary = (text: string) => Console.log(bold(text))
