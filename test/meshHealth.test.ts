import { describe, expect, it } from "@effect/vitest"
import { assessMesh, countConnectedPairs, describeMesh, type NodeView } from "../src/cli/meshHealth.js"

const [a, b, c] = ["ws://localhost:1", "ws://localhost:2", "ws://localhost:3"]
const node = (address: string, connected: ReadonlyArray<string> | undefined, digest = "d", size = 1): NodeView => ({
  address,
  connected,
  poolDigest: digest,
  poolSize: size,
})

describe("mesh health (what `status` concludes)", () => {
  it("counts a full mesh of three as three pairs, not six directions", () => {
    const nodes = [node(a, [b, c]), node(b, [a, c]), node(c, [a, b])]
    const health = assessMesh(nodes)
    expect(health).toMatchObject({ nodes: 3, up: 3, pairsConnected: 3, pairs: 3, poolsAgree: true, healthy: true })
    expect(describeMesh(health, nodes)).toBe(
      "3 of 3 nodes up, 3 of 3 node pairs connected, pools agree (1 transactions)",
    )
  })

  it("counts a pair only when each side lists the other", () => {
    expect(countConnectedPairs([node(a, [b]), node(b, [])])).toBe(0)
    expect(countConnectedPairs([node(a, [b]), node(b, [a])])).toBe(1)
  })

  it("is unhealthy when a node is down, a pair is missing or the pools differ", () => {
    expect(assessMesh([node(a, [b]), node(b, [a]), node(c, undefined)])).toMatchObject({
      up: 2,
      pairsConnected: 1,
      pairs: 3,
      healthy: false,
    })
    expect(assessMesh([node(a, []), node(b, [])]).healthy).toBe(false)
    const differ = [node(a, [b], "x", 1), node(b, [a], "y", 2)]
    expect(assessMesh(differ).healthy).toBe(false)
    expect(describeMesh(assessMesh(differ), differ)).toContain("pools DIFFER (sizes 1, 2)")
    expect(assessMesh([]).healthy).toBe(false)
  })
})
