import { NodeContext } from "@effect/platform-node"
import { Context, Effect, Layer } from "effect"
import { localAddress } from "../../src/domain/Address.js"
import * as HttpHandlerNode from "../../src/layers/HttpHandlerNode.js"
import * as NodeConfigFolder from "../../src/layers/NodeConfigFolder.js"
import * as NodeStatsRef from "../../src/layers/NodeStatsRef.js"
import * as PeerStoreRef from "../../src/layers/PeerStoreRef.js"
import * as TransactionPoolMemory from "../../src/layers/TransactionPoolMemory.js"
import * as TransportMemory from "../../src/layers/TransportMemory.js"
import { startNode } from "../../src/protocol/Node.js"
import { HttpHandler } from "../../src/services/HttpHandler.js"
import { NodeStats } from "../../src/services/NodeStats.js"
import { PeerStore } from "../../src/services/PeerStore.js"
import { TracePropagation } from "../../src/services/TracePropagation.js"
import { TransactionPool } from "../../src/services/TransactionPool.js"

/**
 * Like startMemoryNode, plus its own NodeStats and the HTTP handler the real node serves, so a test
 * can ask it for /status and /metrics without a socket. `propagate` turns trace context on.
 */
export const startObservedNode = (
  port: number,
  knownPeers: ReadonlyArray<number> = [],
  options: { readonly propagate?: boolean } = {},
) =>
  Effect.gen(function* () {
    const services = Layer.mergeAll(
      PeerStoreRef.layer,
      TransactionPoolMemory.layer(),
      TransportMemory.layer(),
      NodeStatsRef.layer,
      Layer.succeed(TracePropagation, options.propagate ?? false),
      NodeConfigFolder.layerStatic({ port, knownPeers: knownPeers.map(localAddress) }),
    )
    const context = yield* Layer.build(
      Layer.provideMerge(HttpHandlerNode.layer, services).pipe(Layer.provide(NodeContext.layer)),
    )
    yield* Effect.provide(startNode, context)
    const http = Context.get(context, HttpHandler)
    return {
      address: localAddress(port),
      peers: Context.get(context, PeerStore),
      pool: Context.get(context, TransactionPool),
      stats: Context.get(context, NodeStats),
      /** GET `path` on this node's HTTP side. */
      get: (path: string) => http.handle({ method: "GET", url: path }),
    }
  })
