import { Either } from "effect"
import { parseAddress } from "../domain/Address.js"

/** The port a new node gets by default: the one after the highest in use, or `first` when none is. */
export const portAfter = (used: ReadonlyArray<number>, first: number): number =>
  used.length === 0 ? first : Math.max(...used) + 1

const localHosts = new Set(["localhost", "127.0.0.1", "[::1]"])

/**
 * known-peers.json entries with the ports of local nodes moved (`mapping`: old port → new), so a
 * network moved to other ports still dials its own nodes and nobody else's. Other entries are kept.
 */
export const remapLocalPeers = (entries: ReadonlyArray<string>, mapping: ReadonlyMap<number, number>): Array<string> =>
  entries.map((entry) =>
    Either.match(parseAddress(entry), {
      onLeft: () => entry,
      onRight: (address) => {
        const url = new URL(address.replace(/^ws/, "http"))
        const moved = mapping.get(Number(url.port))
        return moved === undefined || !localHosts.has(url.hostname) ? entry : address.replace(/:\d+$/, `:${moved}`)
      },
    }),
  )
