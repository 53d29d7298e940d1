import { Context, Effect, Layer } from "effect"
import { type Address, localAddress } from "../../src/domain/Address.js"
import * as LimitsConfig from "../../src/layers/LimitsConfig.js"
import * as NodeConfigFolder from "../../src/layers/NodeConfigFolder.js"
import * as PeerStoreRef from "../../src/layers/PeerStoreRef.js"
import * as TransactionPoolMemory from "../../src/layers/TransactionPoolMemory.js"
import * as TransportMemory from "../../src/layers/TransportMemory.js"
import { startNode } from "../../src/protocol/Node.js"
import type { LimitsShape } from "../../src/services/Limits.js"
import type { HealingSettings } from "../../src/services/NodeConfig.js"
import { PeerStore } from "../../src/services/PeerStore.js"
import { TransactionPool } from "../../src/services/TransactionPool.js"
import { Transport, type TransportShape } from "../../src/services/Transport.js"

export interface GuardedNodeOptions {
  /** Limits that differ from the defaults. */
  readonly limits?: Partial<LimitsShape>
  /** Replaces the in-memory transport's dial (to make it hang, say). */
  readonly dial?: (memory: TransportShape) => TransportShape["dial"]
  /** Redial and heartbeat settings that differ from the defaults. */
  readonly healing?: Partial<HealingSettings>
  /** The ports of its known peers (known-peers.json); none by default. */
  readonly knownPeers?: ReadonlyArray<number>
}

/**
 * A node on the in-memory network, like startMemoryNode, that also records every address its transport
 * was asked to dial, and runs with the given limits.
 */
export const startGuardedNode = (port: number, options: GuardedNodeOptions = {}) =>
  Effect.gen(function* () {
    const dialled: Array<Address> = []
    const transport = Layer.effect(
      Transport,
      Effect.map(TransportMemory.make(), (memory) => {
        const dial = options.dial?.(memory) ?? memory.dial
        return Transport.of({
          ...memory,
          dial: (address) =>
            Effect.suspend(() => {
              dialled.push(address)
              return dial(address)
            }),
        })
      }),
    )
    const context = yield* Layer.build(
      Layer.mergeAll(
        PeerStoreRef.layer,
        TransactionPoolMemory.layer(),
        transport,
        NodeConfigFolder.layerStatic({
          port,
          healing: options.healing ?? {},
          knownPeers: (options.knownPeers ?? []).map(localAddress),
        }),
        LimitsConfig.layerStatic(options.limits ?? {}),
      ),
    )
    yield* Effect.provide(startNode, context)
    return {
      address: localAddress(port),
      peers: Context.get(context, PeerStore),
      pool: Context.get(context, TransactionPool),
      nodeId: Context.get(context, Transport).nodeId,
      /** Every address the node asked its transport to dial, in order. */
      dialled: Effect.sync((): ReadonlyArray<Address> => [...dialled]),
    }
  })
