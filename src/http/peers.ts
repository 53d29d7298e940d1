import { Effect } from "effect"
import { type PeersReport, peerInfoOf } from "../domain/PeerInfo.js"
import { NodeConfig } from "../services/NodeConfig.js"
import { PeerStore } from "../services/PeerStore.js"

/** The node's peer table as `GET /peers` reports it. */
export const collectPeers = Effect.gen(function* () {
  const config = yield* NodeConfig
  const entries = yield* (yield* PeerStore).entries
  return { address: config.address, peers: entries.map(peerInfoOf) } satisfies PeersReport
})
