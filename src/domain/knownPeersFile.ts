import { Either } from "effect"

const kindOf = (value: unknown): string =>
  value === null
    ? "null"
    : Array.isArray(value)
      ? "an array"
      : typeof value === "object"
        ? "an object"
        : `a ${typeof value}`

/**
 * Reads the text of a known-peers.json: a JSON array of strings. The entries are not checked as
 * addresses here; a bad one is refused with a log line and the rest are used.
 */
export const parseKnownPeersFile = (text: string): Either.Either<ReadonlyArray<string>, string> => {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (error) {
    return Either.left(`is not valid JSON (${error instanceof Error ? error.message : String(error)})`)
  }
  if (!Array.isArray(json)) return Either.left(`must be a JSON array of address strings, but it holds ${kindOf(json)}`)
  const strings = json.filter((entry): entry is string => typeof entry === "string")
  if (strings.length === json.length) return Either.right(strings)
  const index = json.findIndex((entry) => typeof entry !== "string")
  return Either.left(`must be a JSON array of address strings, but entry ${index} is ${kindOf(json[index])}`)
}
