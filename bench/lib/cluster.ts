import { join } from "node:path"
import {
  addressOf,
  freshFolder,
  type ImplName,
  type NodeProcess,
  type SpawnOptions,
  spawnNode,
  writeNodeFolder,
} from "./processes.js"

export interface ClusterOptions extends SpawnOptions {
  readonly basePort: number
  /** Node `index`'s known-peers.json; by default the spec's shape for every node: node 1 and node 3. */
  readonly knownPeers?: (index: number) => ReadonlyArray<string>
}

export interface Cluster {
  readonly nodes: ReadonlyArray<NodeProcess>
  /** When the last node's port accepted connections (bench clock). */
  readonly allListeningAt: number
  readonly stop: () => Promise<void>
}

/** The port of node `index` (0-based) of a cluster. */
export const nodePort = (basePort: number, index: number): number => basePort + 1 + index

/** The spec's known-peers.json, ["ws://localhost:4001","ws://localhost:4003"], on the bench's ports. */
export const specKnownPeers = (basePort: number, size: number): Array<string> =>
  size >= 3 ? [addressOf(nodePort(basePort, 0)), addressOf(nodePort(basePort, 2))] : [addressOf(nodePort(basePort, 0))]

/**
 * Starts `size` nodes in fresh folders: node 1 first (so the others can reach it, as a person following
 * the spec would), then all the others at once. Resolves when every port accepts connections.
 */
export const startCluster = async (impl: ImplName, size: number, options: ClusterOptions): Promise<Cluster> => {
  const folder = freshFolder(`${impl}-${size}`)
  const knownPeers = options.knownPeers ?? (() => specKnownPeers(options.basePort, size))
  const ports = Array.from({ length: size }, (_, index) => nodePort(options.basePort, index))
  for (const [index, port] of ports.entries())
    writeNodeFolder(join(folder, `node-${index + 1}`), port, knownPeers(index))
  const spawnOne = (index: number) => spawnNode(impl, join(folder, `node-${index + 1}`), ports[index] ?? 0, options)
  const first = await spawnOne(0)
  const others = await Promise.allSettled(ports.slice(1).map((_, index) => spawnOne(index + 1)))
  const nodes = [first]
  for (const result of others) if (result.status === "fulfilled") nodes.push(result.value)
  const stop = async () => {
    await Promise.all(nodes.map((node) => node.stop()))
  }
  const failure = others.find((result) => result.status === "rejected")
  if (failure !== undefined) {
    await stop()
    throw failure.reason
  }
  return { nodes, allListeningAt: Math.max(...nodes.map((node) => node.listeningAt)), stop }
}
