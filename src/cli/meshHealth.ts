/**
 * What `status` and `network` conclude from the nodes' answers: plain data in, plain data out.
 * A connection is counted per pair of nodes, so three nodes in a full mesh are "3 of 3 pairs", whichever
 * way (one socket per pair, or one each way) the pairs are connected.
 */

/** One node as seen from outside: its address, and whom it says it is connected to (undefined: it is down). */
export interface NodeView {
  readonly address: string
  readonly connected: ReadonlyArray<string> | undefined
  readonly poolDigest?: string | undefined
  readonly poolSize?: number | undefined
}

export interface MeshHealth {
  readonly nodes: number
  readonly up: number
  /** Pairs of nodes where each lists the other as connected. */
  readonly pairsConnected: number
  /** Every pair of the nodes, down ones included: a down node's pairs are missing connections. */
  readonly pairs: number
  /** undefined when no node is up to compare. */
  readonly poolsAgree: boolean | undefined
  readonly healthy: boolean
}

const sees = (node: NodeView, other: NodeView): boolean => node.connected?.includes(other.address) === true

/** Pairs of `nodes` connected both ways round (each lists the other). */
export const countConnectedPairs = (nodes: ReadonlyArray<NodeView>): number => {
  let connected = 0
  for (const [i, a] of nodes.entries()) {
    for (const b of nodes.slice(i + 1)) if (sees(a, b) && sees(b, a)) connected++
  }
  return connected
}

export const pairsOf = (count: number): number => (count * (count - 1)) / 2

/** Healthy: every node up, every pair connected, one pool digest among them. */
export const assessMesh = (nodes: ReadonlyArray<NodeView>): MeshHealth => {
  const up = nodes.filter((node) => node.connected !== undefined)
  const digests = new Set(up.map((node) => node.poolDigest))
  const poolsAgree = up.length === 0 ? undefined : digests.size === 1
  const pairsConnected = countConnectedPairs(nodes)
  const pairs = pairsOf(nodes.length)
  return {
    nodes: nodes.length,
    up: up.length,
    pairsConnected,
    pairs,
    poolsAgree,
    healthy: nodes.length > 0 && up.length === nodes.length && pairsConnected === pairs && poolsAgree === true,
  }
}

/** "2 of 3 nodes up, 1 of 3 node pairs connected, pools agree (5 transactions)" */
export const describeMesh = (health: MeshHealth, nodes: ReadonlyArray<NodeView>): string => {
  const up = nodes.filter((node) => node.connected !== undefined)
  const pools =
    health.poolsAgree === undefined
      ? "no pool to compare"
      : health.poolsAgree
        ? `pools agree (${up[0]?.poolSize ?? 0} transactions)`
        : `pools DIFFER (sizes ${up.map((node) => node.poolSize ?? 0).join(", ")})`
  return `${health.up} of ${health.nodes} nodes up, ${health.pairsConnected} of ${health.pairs} node pairs connected, ${pools}`
}
