import { cp, mkdtemp, readFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { runCli, startCommand } from "./support/cli.js"
import { makeNodesDir, repoRoot, writeNodeFolder } from "./support/processes.js"

// Fixed ports from this engineer's range (7300-7399), written into the node folders.
const ports = [7330, 7331, 7332] as const

describe("what a newcomer runs", () => {
  it("without npm install, every entry point says so in one line", async () => {
    const copy = await mkdtemp(join(tmpdir(), "meshnode-uninstalled-"))
    await cp(join(repoRoot, "bin"), join(copy, "bin"), { recursive: true })
    await cp(join(repoRoot, "package.json"), join(copy, "package.json"))
    for (const bin of ["bin/meshnode.js", "bin/node.js"]) {
      const result = await runCli(["--help"], {}, 30_000, join(copy, bin))
      expect(result.code, bin).toBe(1)
      expect(result.stderr, bin).toBe(`meshnode: its dependencies are not installed: run npm install in ${copy}\n`)
    }
  })

  it("every npm script that runs meshnode goes through bin/, which checks the install first", async () => {
    // `exec`: npm's shell makes way for node, so a Ctrl-C ends in the node's own exit code, not the shell's death.
    const { scripts } = JSON.parse(await readFile(join(repoRoot, "package.json"), "utf8")) as {
      scripts: Record<string, string>
    }
    for (const name of ["start", "node", "clone-node", "delete-nodes", "add-transaction", "status", "meshnode"]) {
      expect(scripts[name], name).toMatch(/^exec node bin\/(meshnode|node)\.js\b/)
    }
  })

  it("Ctrl-C on `npm start` stops every node, shows their stopping/stopped lines and exits 0", async () => {
    const nodesDir = await makeNodesDir()
    const knownPeers = [`ws://localhost:${ports[0]}`, `ws://localhost:${ports[2]}`]
    for (const [i, port] of ports.entries()) await writeNodeFolder(nodesDir, `node-${i + 1}`, { port, knownPeers })
    // In its own process group, as a terminal runs it: Ctrl-C signals npm and the CLI together.
    const npm = startCommand("npm", ["start"], { NODES_DIR: nodesDir }, true)
    try {
      await npm.waitForLine((line) => line.startsWith("network up:"), 120_000)
    } finally {
      const exit = await npm.stop("SIGINT")
      expect(exit).toEqual({ code: 0, signal: null })
    }
    for (const name of ["node-1", "node-2", "node-3"]) {
      expect(
        npm.lines.some((line) => line.startsWith(`[${name}] `) && / stopping /.test(line)),
        name,
      ).toBe(true)
      expect(
        npm.lines.some((line) => line.startsWith(`[${name}] `) && / stopped /.test(line)),
        name,
      ).toBe(true)
    }
    expect(npm.lines.at(-1)).toBe("network stopped: node-1 stopped, node-2 stopped, node-3 stopped")
  }, 180_000)

  it("Ctrl-C on `npm run node` stops the node in order and exits 0", async () => {
    const nodesDir = await makeNodesDir()
    const folder = await writeNodeFolder(nodesDir, "node-1", { port: ports[0], knownPeers: [] })
    const npm = startCommand("npm", ["run", "node", "--", folder], {}, true)
    try {
      await npm.waitForLine((line) => / listening /.test(line), 60_000)
    } finally {
      expect(await npm.stop("SIGINT")).toEqual({ code: 0, signal: null })
    }
    expect(npm.lines.some((line) => / stopped /.test(line))).toBe(true)
  }, 90_000)
})
