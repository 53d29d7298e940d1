import { writeSync } from "node:fs"

/**
 * Where log lines go: stdout below WARN, stderr from WARN up. A write that fails (a closed pipe, a
 * full disk) drops that line and counts it; it never throws and never ends the process. Node would
 * otherwise turn the stream's 'error' event into an uncaught exception and exit 1 without a word.
 */
interface Output {
  readonly stream: NodeJS.WritableStream & { readonly destroyed?: boolean }
  readonly fd: number
  /** Set once the stream failed: from then on each line is written straight to the descriptor. */
  failed: boolean
}

let dropped = 0

/** Log lines that could not be written since the process started (for /metrics). */
export const droppedLogLines = (): number => dropped

let outputs: { readonly out: Output; readonly err: Output } | undefined

const watch = (stream: NodeJS.WriteStream, fd: number): Output => {
  const output: Output = { stream, fd, failed: false }
  stream.on("error", () => {
    // The line being written (and whatever the stream still held) is lost: count one.
    output.failed = true
    dropped++
  })
  return output
}

/** The process's two outputs, watched once however many loggers are built (tests build several). */
const processOutputs = () => {
  outputs ??= { out: watch(process.stdout, 1), err: watch(process.stderr, 2) }
  return outputs
}

const writeTo = (output: Output, line: string): void => {
  if (!output.failed && output.stream.destroyed !== true) {
    try {
      output.stream.write(line)
      return
    } catch {
      output.failed = true
    }
  }
  // Straight to the descriptor: a disk that filled up may have room again, a closed pipe stays closed.
  try {
    writeSync(output.fd, line)
  } catch {
    dropped++
  }
}

/** Writes one log line (a newline is added) to stderr when `toStderr`, otherwise to stdout. */
export const writeLogLine = (line: string, toStderr: boolean): void => {
  const { out, err } = processOutputs()
  writeTo(toStderr ? err : out, `${line}\n`)
}
