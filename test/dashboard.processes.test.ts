import { mkdir } from "node:fs/promises"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import WebSocket from "ws"
import { makeTransaction } from "../src/domain/Transaction.js"
import { hasChromium, launchBrowser } from "./support/browser.js"
import { getStatus } from "./support/cli.js"
import { freePort } from "./support/freePort.js"
import {
  eventually,
  makeNodesDir,
  type NodeProcess,
  repoRoot,
  startNodeProcess,
  waitListening,
  writeNodeFolder,
} from "./support/processes.js"

/**
 * The dashboard in headless Chromium against three real nodes, through what an operator lives
 * through: a node goes down before the page is opened, then comes back and catches up by sync.
 */
describe.skipIf(!hasChromium)("the dashboard when a node goes down and catches up", () => {
  let ports: Array<number> = []
  let folders: Array<string> = []
  const nodes: Array<NodeProcess> = []
  let browser: Awaited<ReturnType<typeof launchBrowser>> | undefined

  const start = async (i: number) => {
    const node = startNodeProcess(folders[i] ?? "")
    nodes[i] = node
    await waitListening(node, 60_000)
  }
  const meshed = (count: number) =>
    eventually(
      async () => {
        const statuses = await Promise.all(ports.map(getStatus))
        return statuses.every((status) => status?.connected.length === count) ? statuses : undefined
      },
      60_000,
      `every node connected to ${count} others`,
    )

  /** Sends `count` new transactions to node `i`, as a peer would, and waits until the pools of `which` hold `size`. */
  const sendTransactions = async (i: number, count: number, size: number, which: ReadonlyArray<number>) => {
    const socket = new WebSocket(address(i))
    await new Promise((resolve, reject) => socket.once("open", resolve).once("error", reject))
    const now = Date.now()
    for (let n = 0; n < count; n++) {
      const tx = makeTransaction({ fromAddress: null, toAddress: "04ab", amount: n + 1, timeStamp: now + n })
      socket.send(JSON.stringify({ type: "TRANSACTION", data: tx }))
    }
    // Closed once they are in: a frame still unread when the socket closes may be dropped.
    await poolsHold(size, which).finally(() => socket.close())
  }
  const poolsHold = (size: number, which: ReadonlyArray<number>) =>
    eventually(
      async () => {
        const statuses = await Promise.all(which.map((i) => getStatus(ports[i] ?? 0)))
        return statuses.every((status) => status?.pool.size === size) ? true : undefined
      },
      30_000,
      `nodes ${which.map((i) => i + 1).join(", ")} to hold ${size} transactions`,
    )

  beforeAll(async () => {
    ports = [await freePort(), await freePort(), await freePort()]
    const nodesDir = await makeNodesDir()
    // As the spec's folders: nodes 1 and 3 are known peers, node 2 is learned from them.
    const knownPeers = [`ws://localhost:${ports[0]}`, `ws://localhost:${ports[2]}`]
    folders = await Promise.all(
      ports.map((port, i) => writeNodeFolder(nodesDir, `node-${i + 1}`, { port, knownPeers })),
    )
    await Promise.all([0, 1, 2].map(start))
    await meshed(2)
    // Five transactions that every node holds before node-2 goes down.
    await sendTransactions(0, 5, 5, [0, 1, 2])
    browser = await launchBrowser()
  }, 180_000)

  afterAll(async () => {
    await browser?.close()
    await Promise.all(nodes.map((node) => node.stop()))
  })

  const openDashboard = async () => {
    if (browser === undefined) throw new Error("no browser")
    const page = await browser.newPage()
    await page.goto(`http://localhost:${ports[0]}/`)
    return page
  }
  const address = (i: number) => `ws://localhost:${ports[i]}`

  it("a page opened after a node went down shows it, as down", async () => {
    await nodes[1]?.stop()
    await eventually(
      async () => ((await getStatus(ports[0] ?? 0))?.connected.length === 1 ? true : undefined),
      30_000,
      "node-1 to notice that node-2 is gone",
    )
    const page = await openDashboard()
    const state = (i: number) => page.locator(`[data-node="${address(i)}"]`).getAttribute("data-state")
    // From its first drawing on, not only once some node happens to redial it.
    await page.locator("#updated").filter({ hasText: "updated" }).waitFor({ timeout: 30_000 })
    expect(await page.locator("[data-node]").count()).toBe(3)
    expect([await state(0), await state(1), await state(2)]).toEqual(["up", "down", "up"])
    expect(await page.locator(`[data-row="${address(1)}"]`).textContent()).toContain("down")
    await mkdir(join(repoRoot, "test-artifacts"), { recursive: true })
    await page.screenshot({ path: join(repoRoot, "test-artifacts/dashboard-node-down.png") })
    await page.close()
  })

  it('"seen by" counts a node that caught up by sync', async () => {
    // Five more that node-2 misses while it is down. Restarted, it catches up by sync, and its recent
    // list (kept in memory) holds only what it took since.
    await sendTransactions(0, 5, 10, [0, 2])
    await start(1)
    await meshed(2)
    await eventually(
      async () => {
        const digests = new Set((await Promise.all(ports.map(getStatus))).map((status) => status?.pool.digest))
        return digests.size === 1 ? true : undefined
      },
      30_000,
      "node-2 to catch up by sync",
    )

    const page = await openDashboard()
    await expect.poll(() => page.locator("#agreement").textContent(), { timeout: 30_000 }).toBe("pools agree")
    const rows = page.locator("[data-tx]")
    await expect.poll(() => rows.count(), { timeout: 30_000 }).toBe(10)
    // The "seen by" cell of every row: all three nodes hold every transaction.
    const seenBy = await page.$$eval("[data-tx] td:nth-child(4)", (cells) => cells.map((cell) => cell.textContent))
    expect(seenBy).toEqual(Array.from({ length: 10 }, () => "3/3"))
    await page.screenshot({ path: join(repoRoot, "test-artifacts/dashboard-after-sync.png") })
    await page.close()
  })
})
