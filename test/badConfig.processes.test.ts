import { spawn } from "node:child_process"
import { rm, writeFile } from "node:fs/promises"
import { createServer, type Server } from "node:net"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { freePort } from "./support/freePort.js"
import { makeNodesDir, repoRoot, writeNodeFolder } from "./support/processes.js"

/**
 * Every bad configuration stops the node at start with a non-zero exit and one line on stderr that
 * names the problem. The processes run a few at a time: each one only starts, reads its folder and exits.
 */
const mainScript = join(repoRoot, "src/main.ts")

interface Outcome {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
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
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (chunk) => {
      stdout += chunk
    })
    child.stderr.on("data", (chunk) => {
      stderr += chunk
    })
    // A node that starts after all is a failed case: stop it rather than wait forever.
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000)
    child.once("error", reject)
    child.once("exit", (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
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
    expected: () => 'PORT "four-thousand" is not a number (in the environment): set e.g. PORT=4001',
  },
  {
    name: "PORT=abc in .env",
    setup: async (folder) => {
      await writeFile(join(folder, ".env"), "PORT=abc\nMY_PUBLIC_KEY=04ab\n")
      return { PORT: undefined }
    },
    expected: (folder) => `PORT "abc" is not a number (in ${join(folder, ".env")}): set e.g. PORT=4001`,
  },
  {
    name: "MAX_PEERS not a number",
    setup: async () => ({ MAX_PEERS: "x" }),
    expected: () => 'MAX_PEERS="x" in the environment is not valid (expected an integer value): set e.g. MAX_PEERS=8',
  },
  {
    name: "a limit not a number",
    setup: async () => ({ MAX_PAYLOAD_BYTES: "lots" }),
    expected: () =>
      'MAX_PAYLOAD_BYTES="lots" in the environment is not valid (a whole number of at least 1): set e.g. MAX_PAYLOAD_BYTES=',
  },
  {
    name: "POOL_FSYNC not a boolean in .env",
    setup: async (folder) => {
      await writeFile(join(folder, ".env"), "PORT=4999\nPOOL_FSYNC=maybe\n")
      return { PORT: String(await freePort()) }
    },
    expected: (folder) =>
      `POOL_FSYNC="maybe" in ${join(folder, ".env")} is not valid (expected a boolean value): set e.g. POOL_FSYNC=true`,
  },
  {
    name: "LOG_LEVEL unknown",
    setup: async () => ({ LOG_LEVEL: "loud" }),
    expected: () =>
      'LOG_LEVEL="loud" is not known: use one of info, debug, warning, error, trace, none (e.g. LOG_LEVEL=info), or leave it unset',
  },
  {
    name: "LOG_FORMAT unknown",
    setup: async () => ({ LOG_FORMAT: "xml" }),
    expected: () => 'LOG_FORMAT="xml" is not known: use one of text, json (e.g. LOG_FORMAT=text), or leave it unset',
  },
  {
    name: "OTEL_BSP_SCHEDULE_DELAY not a number",
    // Port 9 (discard) on loopback: nothing is exported, the node stops before it would try.
    setup: async () => ({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:9", OTEL_BSP_SCHEDULE_DELAY: "soon" }),
    expected: () =>
      'OTEL_BSP_SCHEDULE_DELAY="soon" in the environment is not valid (expected an integer value): set e.g. OTEL_BSP_SCHEDULE_DELAY=5000',
  },
  {
    name: "transactions.json with a bad entry",
    setup: async (folder) => {
      const entry = { fromAddress: null, toAddress: "04ab", amount: "x", timeStamp: 1, hash: "0".repeat(64) }
      await writeFile(join(folder, "transactions.json"), JSON.stringify([entry]))
      return {}
    },
    expected: (folder) =>
      `${join(folder, "transactions.json")} is not a valid transaction pool (transaction 1: amount: Expected number, actual "x"): fix it or move it away; a pool is a JSON array of transactions, e.g. []`,
  },
  {
    name: "transactions.json cut short",
    setup: async (folder) => {
      await writeFile(join(folder, "transactions.json"), '[{"fromAddress": null, "toAdd')
      return {}
    },
    expected: (folder) => `${join(folder, "transactions.json")} is not a valid transaction pool (`,
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
    expected: () => "known-peers.json is not valid JSON (Unexpected token",
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
    expected: () =>
      'known-peers.json must be a JSON array of address strings, but entry 1 is a number: write a JSON array of peer addresses, e.g. ["ws://localhost:4001"], or [] for none',
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
      const shown = `${name}: ${outcome?.stdout}${outcome?.stderr}`
      expect(outcome?.code, shown).not.toBe(0)
      expect(outcome?.code, shown).not.toBeNull()
      // One line, on stderr (it is an error), and nothing on stdout.
      const lines = outcome?.stderr.trimEnd().split("\n") ?? []
      expect(lines, shown).toHaveLength(1)
      expect(lines[0], shown).toMatch(/^\d\d:\d\d:\d\d\.\d{3} ERROR /)
      expect(lines[0], shown).toContain(outcome?.expected)
      expect(outcome?.stdout, shown).toBe("")
    }
  }, 300_000)
})
