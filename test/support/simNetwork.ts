import { Context, Effect, Layer, Option } from "effect"
import type { Address } from "../../src/domain/Address.js"
import { localAddress } from "../../src/domain/Address.js"
import * as NodeConfigFolder from "../../src/layers/NodeConfigFolder.js"
import * as PeerStoreRef from "../../src/layers/PeerStoreRef.js"
import * as TransactionPoolMemory from "../../src/layers/TransactionPoolMemory.js"
import * as TransportMemory from "../../src/layers/TransportMemory.js"
import type { LinkSnapshot } from "../../src/protocol/links.js"
import { startNode } from "../../src/protocol/Node.js"
import type { HealingSettings, MeshSettings } from "../../src/services/NodeConfig.js"
import { PeerStore } from "../../src/services/PeerStore.js"
import { TransactionPool } from "../../src/services/TransactionPool.js"
import { type Frame, Transport, type TransportShape } from "../../src/services/Transport.js"

/**
 * Every TRANSACTION frame sent between nodes of a test network, by transaction: how many, and from
 * whom each node first got it (so the path each copy took can be measured in hops).
 */
export const makeTransactionLog = () => {
  const byHash = new Map<string, { frames: number; firstFrom: Map<Address, Address> }>()
  const byType = new Map<string, number>()
  let connections = 0
  const entry = (hash: string) => {
    let found = byHash.get(hash)
    if (found === undefined) {
      found = { frames: 0, firstFrom: new Map() }
      byHash.set(hash, found)
    }
    return found
  }
  const observe = (frame: Frame, from: Address, to: Address) => {
    const type = typeof frame === "string" ? (/^\{"type":"([A-Z_]+)"/.exec(frame)?.[1] ?? "?") : "binary"
    byType.set(type, (byType.get(type) ?? 0) + 1)
    if (typeof frame !== "string" || type !== "TRANSACTION") return
    const hash: unknown = JSON.parse(frame)?.data?.hash
    if (typeof hash !== "string") return
    const seen = entry(hash)
    seen.frames++
    if (!seen.firstFrom.has(to)) seen.firstFrom.set(to, from)
  }
  return {
    observe,
    connected: () => {
      connections++
    },
    /** Frames sent between nodes so far, by message type, and connections opened. */
    totals: () => ({ connections, ...Object.fromEntries(byType) }),
    /** TRANSACTION frames sent network-wide for `hash`. */
    frames: (hash: string) => byHash.get(hash)?.frames ?? 0,
    /** Hops from `origin` to every node that got `hash`, along the path its first copy took. */
    hops: (hash: string, origin: Address): ReadonlyMap<Address, number> => {
      const firstFrom = byHash.get(hash)?.firstFrom ?? new Map<Address, Address>()
      const hops = new Map<Address, number>([[origin, 0]])
      const hopOf = (node: Address, depth: number): number => {
        const known = hops.get(node)
        if (known !== undefined) return known
        const parent = firstFrom.get(node)
        // A chain longer than the node count would be a loop: it cannot happen, as a sender had it first.
        if (parent === undefined || depth > firstFrom.size) return Number.NaN
        const hop = hopOf(parent, depth + 1) + 1
        hops.set(node, hop)
        return hop
      }
      for (const node of firstFrom.keys()) hopOf(node, 0)
      return hops
    },
  }
}

export type TransactionLog = ReturnType<typeof makeTransactionLog>

/**
 * A transport whose outbound connections report every frame in both directions to `log`. Every
 * connection between nodes is somebody's outbound one, so every frame is seen exactly once.
 */
const observed = (transport: TransportShape, self: Address, log: TransactionLog): TransportShape => ({
  listen: transport.listen,
  dial: (address) =>
    Effect.map(transport.dial(address), (connection) => {
      log.connected()
      return {
        ...connection,
        send: (frame: Frame) =>
          Effect.zipRight(
            Effect.sync(() => log.observe(frame, self, address)),
            connection.send(frame),
          ),
        receive: Effect.tap(connection.receive, (frames) =>
          Effect.sync(() => {
            if (Option.isNone(frames)) return
            for (const frame of frames.value) log.observe(frame, address, self)
          }),
        ),
      }
    }),
})

export interface SimNodeOptions {
  readonly port: number
  /** Ports on localhost, or whole addresses. */
  readonly knownPeers: ReadonlyArray<number | Address>
  readonly log: TransactionLog
  readonly mesh?: Partial<MeshSettings>
  readonly healing?: Partial<HealingSettings>
  /** ADVERTISED_ADDRESS; default ws://localhost:PORT. */
  readonly address?: Address
  readonly host?: string
}

/** A node of a test network on the in-memory transport (listening on `host`), its frames counted. */
export const startSimNode = (options: SimNodeOptions) => startObservedNode(options, TransportMemory.make(options.host))

/** A node of a test network on `transport`: startNode with every TRANSACTION frame it sends or gets counted. */
export const startObservedNode = <R>(options: SimNodeOptions, transport: Effect.Effect<TransportShape, never, R>) =>
  Effect.gen(function* () {
    const address = options.address ?? localAddress(options.port)
    const context = yield* Layer.build(
      Layer.mergeAll(
        PeerStoreRef.layer,
        TransactionPoolMemory.layer(),
        Layer.effect(
          Transport,
          Effect.map(transport, (inner) => observed(inner, address, options.log)),
        ),
        NodeConfigFolder.layerStatic({
          port: options.port,
          address,
          knownPeers: options.knownPeers.map((peer) => (typeof peer === "number" ? localAddress(peer) : peer)),
          ...(options.host === undefined ? {} : { host: options.host }),
          ...(options.mesh === undefined ? {} : { mesh: options.mesh }),
          ...(options.healing === undefined ? {} : { healing: options.healing }),
        }),
      ),
    )
    const { links } = yield* Effect.provide(startNode, context)
    return {
      address,
      links,
      peers: Context.get(context, PeerStore),
      pool: Context.get(context, TransactionPool),
    }
  })

export type SimNode = Effect.Effect.Success<ReturnType<typeof startSimNode>>

/** The links graph of a network: who relays to whom (each link seen from both ends counts once). */
export const graphOf = (snapshots: ReadonlyMap<Address, LinkSnapshot>) => {
  const adjacency = new Map<Address, Set<Address>>()
  const edge = (a: Address, b: Address) => {
    adjacency.set(a, (adjacency.get(a) ?? new Set()).add(b))
    adjacency.set(b, (adjacency.get(b) ?? new Set()).add(a))
  }
  for (const [node, snapshot] of snapshots) {
    adjacency.set(node, adjacency.get(node) ?? new Set())
    for (const peer of snapshot.relayTo) edge(node, peer)
  }
  return adjacency
}

/** Hops from `origin` to every reachable node of `graph` (breadth-first). */
export const distancesFrom = (graph: ReadonlyMap<Address, ReadonlySet<Address>>, origin: Address) => {
  const distance = new Map<Address, number>([[origin, 0]])
  let frontier = [origin]
  while (frontier.length > 0) {
    const next: Array<Address> = []
    for (const node of frontier) {
      for (const peer of graph.get(node) ?? []) {
        if (!distance.has(peer)) {
          distance.set(peer, (distance.get(node) ?? 0) + 1)
          next.push(peer)
        }
      }
    }
    frontier = next
  }
  return distance
}

/** Minimum, mean and maximum of some numbers, for reports. */
export const summary = (values: ReadonlyArray<number>) => ({
  min: Math.min(...values),
  mean: Math.round((values.reduce((sum, value) => sum + value, 0) / Math.max(values.length, 1)) * 100) / 100,
  max: Math.max(...values),
})
