import { ConfigError, Option, ParseResult } from "effect"

/**
 * Configuration errors as one line an operator can act on: where the value came from, the key,
 * the bad value and an example of a good one. Effect's own renderings (Config's "(Invalid data …)
 * or (Missing data …)", Schema's error tree) are many lines and name types, not fixes.
 */
export const describeConfigProblem = (problem: {
  readonly key: string
  readonly value: string
  readonly reason: string
  /** The file, or "the environment". */
  readonly where: string
  readonly example: string
}): string =>
  `${problem.key}=${JSON.stringify(problem.value)} in ${problem.where} is not valid (${problem.reason}): set e.g. ${problem.key}=${problem.example}`

/** The first invalid value a ConfigError reports, with Config's reason less the value it repeats. */
export const firstInvalidData = (
  error: ConfigError.ConfigError,
): Option.Option<{ readonly key: string; readonly reason: string }> => {
  if (ConfigError.isInvalidData(error)) {
    const reason = error.message.replace(/ but received .*$/s, "").replace(/^Expected/, "expected")
    return Option.some({ key: error.path.join("_"), reason })
  }
  if (ConfigError.isAnd(error) || ConfigError.isOr(error))
    return Option.orElse(firstInvalidData(error.left), () => firstInvalidData(error.right))
  return Option.none()
}

/** A Schema decoding error in one line: the first problem, where it is (`entry 3, "amount"`), and what was found. */
export const oneLineParseError = (error: ParseResult.ParseError): string => {
  const [first] = ParseResult.ArrayFormatter.formatErrorSync(error)
  if (first === undefined) return "not readable"
  const [index, ...fields] = first.path
  const location = [
    ...(index === undefined ? [] : [typeof index === "number" ? `entry ${index}` : JSON.stringify(index)]),
    ...fields.map((field) => JSON.stringify(field)),
  ].join(", ")
  // A long "Expected <type>" is Schema's rendering of a whole type: what was found says more.
  const message = first.message
    .replaceAll(/\s+/g, " ")
    .replace(/^Expected .{60,}, actual /, "unexpected ")
    .slice(0, 300)
  return location === "" ? message : `${location}: ${message}`
}
