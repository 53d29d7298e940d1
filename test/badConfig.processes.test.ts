import { spawn } from "node:child_process"
import { rm, writeFile } from "node:fs/promises"
import { createServer, type Server } from "node:net"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { freePort } from "./support/freePort.js"
import { makeNodesDir, repoRoot, writeNodeFolder } from "./support/processes.js"

/**
 * Every bad configuration stops the node at start with a non-zero exit and one message that names the
 * problem. The processes run a few at a time: each one only starts, reads its folder and exits.
 */
const mainScript = join(repoRoot, "src/main.ts")

interface Outcome {
  readonly code: number | null
  readonly output: string
}

/** Runs a node on `folder` until it exits; `undefined` in `env` removes a variable. */
const runUntilExit = (folder: string, env: Record<string, string | undefined>): Promise<Outcome> =>
  new Promise((resolve, reject) => {
    const merged: Record<string, string> = {}
    for (const [key, value] of Object.entries({ ...process.env, LOG_FORMAT: "text", ...env })) {
      if (value !== undefined) merged[key] = value
    }
    const child = spawn(process.execPath, ["--import", "tsx", mainScript, folder], {
      cwd: repoRoot,
      env: merged,
      stdio: ["ignore", "pipe", "pipe"],
    })
    let output = ""
    child.stdout.on("data", (chunk) => {
      output += chunk
    })
    child.stderr.on("data", (chunk) => {
      output += chunk
    })
    // A node that starts after all is a failed case: stop it rather than wait forever.
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000)
    child.once("error", reject)
    child.once("exit", (code) => {
      clearTimeout(timer)
      resolve({ code, output })
    })
  })

let nodesDir = ""
let blocker: Server
let takenPort = 0

beforeAll(async () => {
  nodesDir = await makeNodesDir()
  takenPort = await freePort()
  blocker = createServer()
  // Bound as the node binds (host "localhost"), so the node finds the port taken.
  await new Promise<void>((resolve) => blocker.listen(takenPort, "localhost", () => resolve()))
})

afterAll(async () => {
  await new Promise((resolve) => blocker?.close(resolve))
})

interface Case {
  readonly name: string
  /** Prepares the node folder (it starts as a valid one) and answers the environment to run with. */
  readonly setup: (folder: string) => Promise<Record<string, string | undefined>>
  /** What the message must say. */
  readonly expected: (folder: string) => string
}

const cases: ReadonlyArray<Case> = [
  {
    name: "PORT missing",
    setup: async (folder) => {
      await writeFile(join(folder, ".env"), "MY_PUBLIC_KEY=04ab\n")
      return { PORT: undefined }
    },
    expected: () => "PORT is missing",
  },
  {
    name: "PORT not a number",
    setup: async () => ({ PORT: "four-thousand" }),
    expected: () => 'PORT \\"four-thousand\\" is not a number',
  },
  { name: "PORT too large", setup: async () => ({ PORT: "70000" }), expected: () => "PORT 70000 is out of range" },
  {
    name: "PORT already in use",
    setup: async () => ({ PORT: String(takenPort) }),
    // The node folder is outside the working directory, so the message shows its full path.
    expected: (folder) => `port ${takenPort} is already in use: is another node running from ${folder}?`,
  },
  {
    name: "known-peers.json missing",
    setup: async (folder) => {
      await rm(join(folder, "known-peers.json"))
      return {}
    },
    expected: (folder) => `${join(folder, "known-peers.json")} is missing`,
  },
  {
    name: "known-peers.json not JSON",
    setup: async (folder) => {
      await writeFile(join(folder, "known-peers.json"), "ws://localhost:4001, ws://localhost:4003")
      return {}
    },
    expected: () => "known-peers.json is not valid JSON",
  },
  {
    name: "known-peers.json not an array",
    setup: async (folder) => {
      await writeFile(join(folder, "known-peers.json"), '{"peers":["ws://localhost:4001"]}')
      return {}
    },
    expected: () => "known-peers.json must be a JSON array of address strings, but it holds an object",
  },
  {
    name: "known-peers.json not strings",
    setup: async (folder) => {
      await writeFile(join(folder, "known-peers.json"), '["ws://localhost:4001", 4003]')
      return {}
    },
    expected: () => "known-peers.json must be a JSON array of address strings, but entry 1 is a number",
  },
]

describe("bad configuration", () => {
  it("each case exits non-zero with a message naming the problem", async () => {
    const outcomes = new Map<string, Outcome & { readonly expected: string }>()
    const queue = [...cases]
    const worker = async () => {
      for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
        const folder = await writeNodeFolder(nodesDir, next.name.replaceAll(/\W+/g, "-"), {
          port: await freePort(),
          knownPeers: [],
        })
        const env = await next.setup(folder)
        outcomes.set(next.name, { ...(await runUntilExit(folder, env)), expected: next.expected(folder) })
      }
    }
    await Promise.all([worker(), worker(), worker()])
    for (const { name } of cases) {
      const outcome = outcomes.get(name)
      expect(outcome?.code, `${name}: ${outcome?.output}`).not.toBe(0)
      expect(outcome?.code, `${name}: ${outcome?.output}`).not.toBeNull()
      expect(outcome?.output, name).toContain(outcome?.expected)
    }
  })
})
