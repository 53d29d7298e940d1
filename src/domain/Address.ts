import { Either, ParseResult, Schema } from "effect"

/**
 * A peer address as the protocol uses it: `ws://host:port` (or `wss://`), normalised so that
 * two spellings of the same peer compare equal (`ws://LOCALHOST:4001/` is `ws://localhost:4001`).
 */
export const Address = Schema.String.pipe(Schema.brand("Address"))
export type Address = typeof Address.Type

/** Why a string is not a dialable address. */
export type AddressProblem =
  | "not a string"
  | "too long"
  | "whitespace or non-ASCII characters"
  | "not a ws:// or wss:// URL"
  | "credentials are not allowed"
  | "missing host"
  | "invalid host"
  | "unspecified host (0.0.0.0 or [::])"
  | "missing port"
  | "invalid port"
  | "port out of range"
  | "paths, queries and fragments are not allowed"

export const MAX_ADDRESS_LENGTH = 2048

// Printable ASCII only: no whitespace, control characters or look-alike Unicode to hide a target in.
const printableAscii = /^[\x21-\x7e]*$/
// scheme://authority, then anything (only nothing or a bare "/" is allowed there).
const addressPattern = /^(wss?):\/\/([^/?#\\]*)(.*)$/i
const ipv6Authority = /^(\[[0-9a-f:.]+\])(?::(.*))?$/i
const nameAuthority = /^([^:]*)(?::(.*))?$/
// Host names and dotted IPv4 as written, without the shorthand forms URL would rewrite (127.1, 0x7f.1).
const hostName = /^[a-z0-9_-]+(\.[a-z0-9_-]+)*\.?$/i
const canonicalPort = /^[1-9][0-9]{0,4}$/

/** The normalised form of an address, or what is wrong with it: the core of `AddressFromString`. */
const normaliseAddress = (input: unknown): Either.Either<string, AddressProblem> => {
  if (typeof input !== "string") return Either.left("not a string")
  if (input.length > MAX_ADDRESS_LENGTH) return Either.left("too long")
  if (!printableAscii.test(input)) return Either.left("whitespace or non-ASCII characters")
  const match = addressPattern.exec(input)
  if (match === null) return Either.left("not a ws:// or wss:// URL")
  const [, scheme = "", authority = "", rest = ""] = match
  if (rest !== "" && rest !== "/") return Either.left("paths, queries and fragments are not allowed")
  if (authority.includes("@")) return Either.left("credentials are not allowed")
  const parts = authority.startsWith("[") ? ipv6Authority.exec(authority) : nameAuthority.exec(authority)
  if (parts === null) return Either.left(authority.startsWith("[") ? "invalid host" : "invalid port")
  const [, rawHost = "", rawPort] = parts
  if (rawHost === "") return Either.left("missing host")
  if (rawPort === undefined || rawPort === "") return Either.left("missing port")
  if (!/^[0-9]+$/.test(rawPort)) return Either.left("invalid port")
  if (!canonicalPort.test(rawPort)) return Either.left(/^0+$/.test(rawPort) ? "port out of range" : "invalid port")
  const port = Number(rawPort)
  if (port > 65535) return Either.left("port out of range")
  const host = normaliseHost(rawHost)
  if (host === undefined) return Either.left("invalid host")
  if (host === "0.0.0.0" || host === "[::]") return Either.left("unspecified host (0.0.0.0 or [::])")
  return Either.right(`${scheme.toLowerCase()}://${host}:${port}`)
}

/**
 * Any string that names a peer, decoded to its normalised, branded Address (encoded back as that
 * text). The one way an address is read: HANDSHAKE entries, known-peers.json and the configuration.
 */
export const AddressFromString = Schema.transformOrFail(Schema.Unknown, Address, {
  strict: true,
  decode: (input, _, ast) =>
    Either.match(normaliseAddress(input), {
      onLeft: (problem) => ParseResult.fail(new ParseResult.Type(ast, input, problem)),
      onRight: (normalised) => ParseResult.succeed(normalised),
    }),
  encode: ParseResult.succeed,
})

const decodeAddress = Schema.decodeUnknownEither(AddressFromString, { errors: "first" })

const problems: ReadonlySet<string> = new Set<AddressProblem>([
  "not a string",
  "too long",
  "whitespace or non-ASCII characters",
  "not a ws:// or wss:// URL",
  "credentials are not allowed",
  "missing host",
  "invalid host",
  "unspecified host (0.0.0.0 or [::])",
  "missing port",
  "invalid port",
  "port out of range",
  "paths, queries and fragments are not allowed",
])
const isProblem = (text: string): text is AddressProblem => problems.has(text)

/** The problem `AddressFromString` found, as its issue states it. */
const problemOf = (error: ParseResult.ParseError): AddressProblem => {
  let issue: ParseResult.ParseIssue = error.issue
  while (issue._tag === "Transformation" || issue._tag === "Refinement") issue = issue.issue
  const message = issue._tag === "Type" ? issue.message : undefined
  return message !== undefined && isProblem(message) ? message : "not a ws:// or wss:// URL"
}

/** Decodes an address with `AddressFromString`, or says what is wrong with it. */
export const parseAddress = (input: unknown): Either.Either<Address, AddressProblem> =>
  Either.mapLeft(decodeAddress(input), problemOf)

/** Parsed addresses a node remembers (a bound, so a hostile peer cannot grow the cache). */
const ADDRESS_CACHE_SIZE = 4096

/**
 * `parseAddress` with the answers for the last `size` strings remembered: peers list the same few
 * addresses in every HANDSHAKE and PEERS, and a parse builds a URL. Bounded (cleared when full), and
 * strings too long to be an address are never kept, so a hostile list cannot grow it. One per node.
 */
export const makeAddressParser = (size = ADDRESS_CACHE_SIZE) => {
  const answers = new Map<string, Either.Either<Address, AddressProblem>>()
  return (input: unknown): Either.Either<Address, AddressProblem> => {
    if (typeof input !== "string" || input.length > MAX_ADDRESS_LENGTH) return parseAddress(input)
    const known = answers.get(input)
    if (known !== undefined) return known
    if (answers.size >= size) answers.clear()
    const answer = parseAddress(input)
    answers.set(input, answer)
    return answer
  }
}

/** A node's cached address parser (`makeAddressParser`). */
export type AddressParser = ReturnType<typeof makeAddressParser>

/** The host in its canonical form (lower case, compressed IPv6), or undefined if it is not a plain host. */
const normaliseHost = (raw: string): string | undefined => {
  const isIpv6 = raw.startsWith("[")
  if (!isIpv6 && !hostName.test(raw)) return undefined
  let host: string
  try {
    host = new URL(`http://${raw}`).hostname
  } catch {
    return undefined
  }
  // URL rewrites numeric shorthands (127.1, 2130706433) into other hosts: refuse those, keep case folding.
  return isIpv6 || host === raw.toLowerCase() ? host : undefined
}

/** The address a node on `port` announces, as the spec requires. */
export const localAddress = (port: number): Address => Address.make(`ws://localhost:${port}`)
