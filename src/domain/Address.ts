import { Either, Schema } from "effect"

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
  | "not a ws:// or wss:// URL"
  | "credentials are not allowed"
  | "missing host"
  | "missing port"
  | "port out of range"
  | "paths, queries and fragments are not allowed"

export const MAX_ADDRESS_LENGTH = 2048

// scheme, authority, then at most a bare trailing slash.
const addressPattern = /^(wss?):\/\/([^/?#]*)(\/?)(.*)$/i
// [ipv6]:port or host:port; the port is mandatory.
const authorityPattern = /^(\[[0-9a-f:.]+\]|[^:@[\]]*)(?::(\d*))?$/i

/** Parses and normalises an address, or says what is wrong with it. */
export const parseAddress = (input: unknown): Either.Either<Address, AddressProblem> => {
  if (typeof input !== "string") return Either.left("not a string")
  if (input.length > MAX_ADDRESS_LENGTH) return Either.left("too long")
  const match = addressPattern.exec(input.trim())
  if (match === null) return Either.left("not a ws:// or wss:// URL")
  const [, scheme = "", authority = "", , rest = ""] = match
  if (rest !== "") return Either.left("paths, queries and fragments are not allowed")
  if (authority.includes("@")) return Either.left("credentials are not allowed")
  const parts = authorityPattern.exec(authority)
  if (parts === null) return Either.left("not a ws:// or wss:// URL")
  const [, rawHost = "", rawPort] = parts
  if (rawHost === "") return Either.left("missing host")
  if (rawPort === undefined || rawPort === "") return Either.left("missing port")
  const port = Number(rawPort)
  if (!Number.isInteger(port) || port < 1 || port > 65535) return Either.left("port out of range")
  let host: string
  try {
    // URL does the host normalisation (case, IDN, IPv4 forms) for us.
    host = new URL(`http://${rawHost}`).hostname
  } catch {
    return Either.left("not a ws:// or wss:// URL")
  }
  if (host === "") return Either.left("missing host")
  return Either.right(Address.make(`${scheme.toLowerCase()}://${host}:${port}`))
}

/** The address a node on `port` announces, as the spec requires. */
export const localAddress = (port: number): Address => Address.make(`ws://localhost:${port}`)

/** The port of a normalised address. */
export const portOf = (address: Address): number => Number(address.slice(address.lastIndexOf(":") + 1))
