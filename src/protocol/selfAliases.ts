import { hostname, networkInterfaces } from "node:os"
import { Effect, Either } from "effect"
import { type Address, parseAddress } from "../domain/Address.js"
import { isOwn } from "../domain/PeerTable.js"
import { NodeConfig } from "../services/NodeConfig.js"
import { PeerStore } from "../services/PeerStore.js"

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
 * Whether an address leads back to this node: its own, its port on every local host name and address
 * (a fixed set, worked out once), or an address the peer table holds as our own because a dial of it
 * reached us (another name: a DNS alias, a public address; see dialQueue). The table is where that is
 * remembered, so /peers shows it.
 */
export const makeSelfAliases = Effect.gen(function* () {
  const config = yield* NodeConfig
  const peers = yield* PeerStore
  const spellings = new Set<Address>([config.address])
  for (const host of localHosts(config.host)) {
    for (const scheme of ["ws", "wss"]) {
      const alias = parseAddress(`${scheme}://${host}:${config.port}`)
      if (Either.isRight(alias)) spellings.add(alias.right)
    }
  }
  return {
    // Asked for every address a HANDSHAKE or PEERS lists: the fixed spellings answer without the table.
    isSelf: (address: Address): Effect.Effect<boolean> =>
      spellings.has(address) ? Effect.succeed(true) : Effect.map(peers.entry(address), isOwn),
    remember: peers.leadsBack,
  }
})
