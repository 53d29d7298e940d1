import { hostname, networkInterfaces } from "node:os"
import { Effect, Either } from "effect"
import { type Address, parseAddress } from "../domain/Address.js"
import { NodeConfig } from "../services/NodeConfig.js"

/** Every spelling of this machine's own host that we know of, before any dial. */
const localHosts = (configuredHost: string): ReadonlyArray<string> => {
  const interfaces = Object.values(networkInterfaces()).flatMap((entries) => entries ?? [])
  return [
    "localhost",
    "127.0.0.1",
    "[::1]",
    hostname(),
    configuredHost,
    ...interfaces.map((entry) => (entry.family === "IPv6" ? `[${entry.address}]` : entry.address)),
  ]
}

/**
 * The addresses that lead back to this node: its own, its port on every local host name and address,
 * and any other alias it learnt by dialling itself (see dialQueue).
 */
export const makeSelfAliases = Effect.gen(function* () {
  const config = yield* NodeConfig
  const aliases = new Set<Address>([config.address])
  for (const host of localHosts(config.host)) {
    for (const scheme of ["ws", "wss"]) {
      const alias = parseAddress(`${scheme}://${host}:${config.port}`)
      if (Either.isRight(alias)) aliases.add(alias.right)
    }
  }
  return {
    // A plain call: it is asked for every address a HANDSHAKE or PEERS lists.
    isSelf: (address: Address) => aliases.has(address),
    remember: (address: Address) =>
      Effect.sync(() => {
        aliases.add(address)
      }),
  }
})

export type SelfAliases = Effect.Effect.Success<typeof makeSelfAliases>
