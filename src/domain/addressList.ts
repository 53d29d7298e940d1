import { Either } from "effect"
import { type Address, type AddressProblem, parseAddress } from "./Address.js"

/** One entry of an address list that is not a dialable address, shown as text for a log line. */
export interface RefusedAddress {
  readonly address: string
  readonly reason: AddressProblem
}

export interface ScreenedAddresses {
  /** The valid addresses, normalised, each once, in their first order. */
  readonly addresses: ReadonlyArray<Address>
  readonly refused: ReadonlyArray<RefusedAddress>
  /** Entries beyond `max`, not looked at. */
  readonly dropped: number
}

const MAX_SHOWN_LENGTH = 200

/**
 * Sorts the first `max` entries of an untrusted address list into valid addresses and refusals, with
 * `parse` (a node's cached parser, `makeAddressParser`, or `parseAddress` itself).
 */
export const screenAddresses = (
  entries: ReadonlyArray<unknown>,
  max: number,
  parse: (entry: unknown) => Either.Either<Address, AddressProblem> = parseAddress,
): ScreenedAddresses => {
  const addresses = new Set<Address>()
  const refused: Array<RefusedAddress> = []
  for (const entry of entries.slice(0, max)) {
    const parsed = parse(entry)
    if (Either.isRight(parsed)) addresses.add(parsed.right)
    else refused.push({ address: showEntry(entry), reason: parsed.left })
  }
  return { addresses: [...addresses], refused, dropped: Math.max(0, entries.length - max) }
}

/** An entry as text, cut short: a refusal's log line must not become the attacker's megabyte. */
export const showEntry = (entry: unknown): string => {
  const text = typeof entry === "string" ? entry : (JSON.stringify(entry) ?? String(entry))
  return text.length > MAX_SHOWN_LENGTH ? `${text.slice(0, MAX_SHOWN_LENGTH)}…` : text
}
