import { mkdir, readdir, readFile } from "node:fs/promises"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import WebSocket from "ws"
import type { NodeStatus } from "../src/domain/NodeStatus.js"
import { hasChromium, launchBrowser } from "./support/browser.js"
import { getStatus, runCli, startCli } from "./support/cli.js"
import { eventually, makeNodesDir, repoRoot, writeNodeFolder } from "./support/processes.js"

// Fixed ports from this suite's own range (7300-7399): node-N listens on 7309+N once `--base-port 7310`
// has moved the folders, which are written on 7320-7322.
const ports = [7310, 7311, 7312] as const
const writtenPorts = [7320, 7321, 7322] as const
const knownPeers = [`ws://localhost:${writtenPorts[0]}`, `ws://localhost:${writtenPorts[2]}`]

/**
 * One real 3-node network, started the way an operator starts it (`meshnode network`), shared by
 * the tests below in order: /status and /metrics, the dashboard, then `status` with one node down.
 */
describe("a 3-node network started with `meshnode network`", () => {
  let nodesDir = ""
  let network: ReturnType<typeof startCli> | undefined

  beforeAll(async () => {
    nodesDir = await makeNodesDir()
    for (const [i, port] of writtenPorts.entries()) {
      await writeNodeFolder(nodesDir, `node-${i + 1}`, { port, knownPeers })
    }
    network = startCli(["network", "--nodes", "3", "--base-port", String(ports[0])], { NODES_DIR: nodesDir })
    await network.waitForLine((line) => line.startsWith("network up:"), 120_000)
  }, 150_000)

  afterAll(async () => {
    await network?.stop("SIGINT")
  })

  it("`network` shows progress and ends its start-up with a one-line summary", () => {
    const own = network?.lines.filter((line) => !line.startsWith("[node-")) ?? []
    // Nodes start all at once (they redial each other until every one is up), then report as they come up.
    expect(own.slice(0, 9)).toEqual([
      "node-1: PORT=7310 (was 7320), known peers moved with it",
      "node-2: PORT=7311 (was 7321), known peers moved with it",
      "node-3: PORT=7312 (was 7322), known peers moved with it",
      "starting node-1 (:7310)",
      "starting node-2 (:7311)",
      "starting node-3 (:7312)",
      "nodes up: 1/3",
      "nodes up: 2/3",
      "nodes up: 3/3",
    ])
    expect(own.at(-2)).toBe("node pairs connected: 3/3")
    expect(own.at(-1)).toMatch(
      /^network up: 3\/3 nodes, 3\/3 node pairs connected in [\d.]+ s; dashboard http:\/\/localhost:7310\/; Ctrl-C stops them all$/,
    )
    // Every node's output is relayed with its name.
    for (const name of ["node-1", "node-2", "node-3"]) {
      expect(network?.lines.some((line) => line.startsWith(`[${name}] `) && line.includes("listening"))).toBe(true)
    }
  })

  it("`--base-port` wrote each node's new port and moved its known peers along", async () => {
    for (const [i, port] of ports.entries()) {
      expect(await readFile(join(nodesDir, `node-${i + 1}/.env`), "utf8")).toContain(`PORT=${port}\n`)
      expect(JSON.parse(await readFile(join(nodesDir, `node-${i + 1}/known-peers.json`), "utf8"))).toEqual([
        `ws://localhost:${ports[0]}`,
        `ws://localhost:${ports[2]}`,
      ])
    }
  })

  it("a real node answers /status and /metrics on its WebSocket port, and WebSocket still works", async () => {
    const response = await fetch(`http://localhost:${ports[0]}/status`)
    expect(response.status).toBe(200)
    expect(response.headers.get("content-type")).toBe("application/json")
    const status = (await response.json()) as NodeStatus
    expect(status).toMatchObject({
      address: "ws://localhost:7310",
      dialling: [],
      pool: { size: 0, digest: expect.stringMatching(/^[0-9a-f]{64}$/) },
      counters: { transactionsAccepted: 0 },
    })
    expect([...status.connected].sort()).toEqual(["ws://localhost:7311", "ws://localhost:7312"])
    expect(status.uptimeSeconds).toBeGreaterThan(0)
    expect(status.messagesReceived.HANDSHAKE).toBeGreaterThanOrEqual(1)

    const metrics = await (await fetch(`http://localhost:${ports[0]}/metrics`)).text()
    expect(metrics).toContain('meshnode_peers{state="connected"} 2')
    expect(metrics).toMatch(/^meshnode_messages_sent_total\{type="HANDSHAKE"\} \d+$/m)
    expect(metrics).toMatch(/^meshnode_uptime_seconds [\d.]+$/m)

    // The spec's probe: a WebSocket on the same port opens, and a HANDSHAKE makes the node dial back.
    const first = await new Promise<unknown>((resolve, reject) => {
      const socket = new WebSocket(`ws://localhost:${ports[1]}`)
      socket.once("message", (data) => {
        resolve(JSON.parse(data.toString()))
        socket.close()
      })
      socket.once("open", () => socket.send(JSON.stringify({ type: "TRANSACTION_PROBE" })))
      socket.once("error", reject)
      // The node says nothing first on an inbound connection: a timeout means the socket opened fine.
      setTimeout(() => {
        resolve("open")
        socket.close()
      }, 500)
    })
    expect(first).toBe("open")
  })

  it("`delete-nodes` refuses to delete the folders of the running nodes", async () => {
    const result = await runCli(["delete-nodes"], { NODES_DIR: nodesDir })
    expect(result.code).toBe(1)
    expect(result.stderr.trim()).toBe(
      `meshnode: delete-nodes: node-2 (port ${ports[1]}), node-3 (port ${ports[2]}) are running: stop them first, or pass --force; nothing was deleted`,
    )
    expect((await readdir(nodesDir)).sort()).toEqual(["node-1", "node-2", "node-3"])
  })

  it.skipIf(!hasChromium)(
    "the dashboard in headless Chromium shows three nodes, six connections, then a new transaction",
    async () => {
      const browser = await launchBrowser()
      try {
        const page = await browser.newPage()
        await page.goto(`http://localhost:${ports[0]}/`)
        const upNodes = page.locator('[data-node][data-state="up"]')
        const edgePaths = page.locator("[data-edge]")
        await expect.poll(() => upNodes.count(), { timeout: 30_000 }).toBe(3)
        await expect.poll(() => edgePaths.count(), { timeout: 30_000 }).toBe(6)
        const edges = await page.$$eval("[data-edge]", (paths) => paths.map((path) => path.getAttribute("data-edge")))
        expect(edges.sort()).toEqual(
          ports.flatMap((from) =>
            ports.filter((to) => to !== from).map((to) => `ws://localhost:${from}->ws://localhost:${to}`),
          ),
        )

        const sent = await runCli(["add-transaction", join(nodesDir, "node-2"), "--amount", "42"], {
          NODES_DIR: nodesDir,
        })
        expect(sent.code).toBe(0)
        const hash = (JSON.parse(sent.stdout.slice(0, sent.stdout.lastIndexOf("}") + 1)) as { hash: string }).hash
        // It appears without a reload, held by all three nodes, and every pool shows one transaction.
        const row = page.locator(`[data-tx="${hash}"]`)
        await row.waitFor({ timeout: 30_000 })
        await expect.poll(() => row.textContent(), { timeout: 30_000 }).toContain("3/3")
        expect(await row.textContent()).toContain(hash.slice(0, 12))
        expect(await page.locator("[data-pool]").allTextContents()).toEqual(["1", "1", "1"])
        expect(await page.locator("#agreement").textContent()).toBe("pools agree")

        await mkdir(join(repoRoot, "test-artifacts"), { recursive: true })
        await page.screenshot({ path: join(repoRoot, "test-artifacts/dashboard.png") })
        if (process.env.UPDATE_DOCS_SCREENSHOT === "1")
          await page.screenshot({ path: join(repoRoot, "docs/dashboard.png") })
      } finally {
        await browser.close()
      }
    },
  )
  if (!hasChromium) {
    it.skip("dashboard browser test SKIPPED: /usr/bin/chromium is absent (run .ci/install-chromium)", () => {})
  }

  it("`status` shows the mesh matrix, a node that is down as down, and whether the pools agree", async () => {
    // Healthy: exit 0, and three nodes in a full mesh are three pairs (not six directions).
    const healthy = await runCli(["status"], { NODES_DIR: nodesDir })
    expect(healthy.code).toBe(0)
    expect(healthy.stdout.trimEnd().split("\n").at(-1)).toMatch(
      /^3 of 3 nodes up, 3 of 3 node pairs connected, pools agree \((0|1) transactions\)$/,
    )
    const third = await getStatus(ports[2])
    if (third === undefined) throw new Error("node-3 should be up before it is stopped")
    process.kill(third.pid, "SIGTERM")
    await eventually(
      async () => {
        const [one, two] = await Promise.all([getStatus(ports[0]), getStatus(ports[1])])
        return one?.connected.length === 1 && two?.connected.length === 1 ? true : undefined
      },
      30_000,
      "node-1 and node-2 to notice that node-3 is gone",
    )
    const result = await runCli(["status"], { NODES_DIR: nodesDir })
    // A node down: non-zero, so a script waiting on `status` keeps waiting.
    expect(result.code).toBe(1)
    const lines = result.stdout.trimEnd().split("\n")
    expect(lines).toContain(`meshnode status: 3 node folder(s) in ${nodesDir}`)
    const matrix = lines.slice(lines.findIndex((line) => line.startsWith("mesh (")) + 1)
    expect(matrix[0]?.trim().split(/\s+/)).toEqual(["node-1", "node-2", "node-3"])
    expect(matrix[1]?.trim().split(/\s+/)).toEqual(["node-1", "·", "✓", "✗"])
    expect(matrix[2]?.trim().split(/\s+/)).toEqual(["node-2", "✓", "·", "✗"])
    expect(matrix[3]?.trim().split(/\s+/)).toEqual(["node-3", "?", "?", "?", "down"])
    expect(result.stdout).toMatch(/node-3\s+ws:\/\/localhost:7312\s+down\s+-\s+-\s+-\s+-/)
    expect(result.stdout).toMatch(/node-1\s+ws:\/\/localhost:7310\s+up\s+1\s+(\d+)\s+([0-9a-f]{8})/)
    expect(lines.at(-1)).toMatch(
      /^NOT HEALTHY: 2 of 3 nodes up, 1 of 3 node pairs connected, pools agree \((0|1) transactions\)$/,
    )
    // The whole network still stops with one Ctrl-C.
    const exit = await network?.stop("SIGINT")
    expect(exit?.code).toBe(0)
    for (const port of ports) expect(await getStatus(port)).toBeUndefined()
  })
})
