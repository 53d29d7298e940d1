import { mkdir, readdir, readFile, writeFile } from "node:fs/promises"
import { createServer, type Server } from "node:net"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect } from "effect"
import { exitCodeOf, runCli } from "../src/cli/app.js"
import { environmentVariables } from "../src/usage.js"
import { getStatus, runCli as runCliProcess, startCli } from "./support/cli.js"
import { freePort } from "./support/freePort.js"
import { eventually, makeNodesDir, repoRoot, writeNodeFolder } from "./support/processes.js"

const commands = ["node", "network", "clone-node", "delete-nodes", "add-transaction", "status"] as const

/**
 * Runs the CLI in this process, as `meshnode <args>` would, and answers what it printed and the exit
 * code the process would end with. (Starting a process per case costs seconds of CPU each.)
 */
const meshnode = (args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  Effect.gen(function* () {
    const stdout: Array<string> = []
    const stderr: Array<string> = []
    const base = yield* Effect.console
    const exit = yield* runCli(["node", "meshnode", ...args]).pipe(
      Effect.withConsole({
        ...base,
        log: (...parts) => Effect.sync(() => stdout.push(parts.join(" "))),
        error: (...parts) => Effect.sync(() => stderr.push(parts.join(" "))),
      }),
      Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env)))),
      Effect.exit,
    )
    return { code: exitCodeOf(exit), stdout: stdout.join("\n"), stderr: stderr.join("\n") }
  })

/** A NODES_DIR with a node-1 template, as the repository's nodes/ has. */
const makeTemplate = (port = 7360) =>
  Effect.promise(async () => {
    const dir = await makeNodesDir()
    await mkdir(join(dir, "node-1"))
    await writeFile(join(dir, "node-1/.env"), `PORT=${port}\nMY_PUBLIC_KEY=04ab\n`)
    await writeFile(join(dir, "node-1/known-peers.json"), '["ws://localhost:4001","ws://localhost:4003"]')
    await writeFile(join(dir, "node-1/transactions.json"), "[]")
    return dir
  })

describe("meshnode CLI", () => {
  it.live("--help lists every command, and every command has its own --help", () =>
    Effect.gen(function* () {
      const root = yield* meshnode(["--help"])
      expect(root.code).toBe(0)
      for (const command of commands) expect(root.stdout).toContain(`- ${command}`)
      const each = yield* Effect.forEach(commands, (command) => meshnode([command, "--help"]))
      each.forEach((result, i) => {
        expect(result.code, commands[i]).toBe(0)
        expect(result.stdout).toContain("USAGE")
        expect(result.stdout).toContain(`$ ${commands[i]}`)
        expect(result.stderr).toBe("")
      })
      const [node, network, , , addTransaction, status] = each
      expect(network?.stdout).toContain("--nodes integer")
      for (const option of ["--amount float", "--to text", "--count integer", "<NODE_FOLDER>"]) {
        expect(addTransaction?.stdout).toContain(option)
      }
      expect(status?.stdout).toContain("--json")
      // `node --help` carries the environment variables, from the same list as src/main.ts --help.
      for (const [name] of environmentVariables) expect(node?.stdout).toContain(name)
    }),
  )

  it.live("bad arguments get one line on stderr saying what is wrong (and what was meant), and exit code 2", () =>
    Effect.gen(function* () {
      const cases: ReadonlyArray<readonly [ReadonlyArray<string>, string]> = [
        [
          ["bogus"],
          "meshnode: unknown command 'bogus' (known: node, network, clone-node, delete-nodes, add-transaction, status)",
        ],
        [["stauts"], "meshnode: unknown command 'stauts'; did you mean 'status'?"],
        [["network", "--nodes", "0"], "meshnode network: --nodes takes a whole number from 1 to 50"],
        [["network", "--nodes", "three"], "meshnode network: 'three' is not a integer"],
        [
          ["network", "--base-prot", "5000"],
          "meshnode network: unknown option '--base-prot'; did you mean '--base-port'?",
        ],
        [["add-transaction", "--count", "0"], "meshnode add-transaction: --count takes a whole number from 1 to 10000"],
        [
          ["add-transaction", "--count", "10001"],
          "meshnode add-transaction: --count takes a whole number from 1 to 10000",
        ],
        [
          ["add-transaction", "--amount", "-5"],
          "meshnode add-transaction: --amount takes a positive number, e.g. --amount 42",
        ],
        [
          ["add-transaction", "--amount", "1e400"],
          "meshnode add-transaction: --amount takes a positive number, e.g. --amount 42",
        ],
        [
          ["add-transaction", "--amout", "5"],
          "meshnode add-transaction: unknown option '--amout'; did you mean '--amount'?",
        ],
        [["add-transaction", "--to", ""], "meshnode add-transaction: --to takes a public key in hex, e.g. --to 04ab12"],
        [
          ["add-transaction", "--to", "04zz"],
          "meshnode add-transaction: --to takes a public key in hex, e.g. --to 04ab12",
        ],
        [["add-transaction", "/no/such/folder"], "meshnode add-transaction: Path '/no/such/folder' must exist"],
        [["node", "/no/such/folder"], "meshnode node: Path '/no/such/folder' must exist"],
        [["node", ".", "--prot", "5"], "meshnode node: unknown option '--prot'; did you mean '--port'?"],
        [["status", "--jsn"], "meshnode status: unknown option '--jsn'; did you mean '--json'?"],
        [["status", "--verbose"], "meshnode status: unknown option '--verbose' (known: --json, --help, --version)"],
        [["status", "json"], "meshnode status: unexpected argument 'json'; did you mean '--json'?"],
        [["delete-nodes", "--forse"], "meshnode delete-nodes: unknown option '--forse'; did you mean '--force'?"],
        [["clone-node", "extra"], "meshnode clone-node: unexpected argument 'extra'"],
        [["clone-node", "--port"], "meshnode clone-node: --port needs a value"],
        [["status", "--json", "--json"], "meshnode status: --json is given more than once"],
      ]
      for (const [args, message] of cases) {
        const result = yield* meshnode(args)
        const command = args[0] === "bogus" || args[0] === "stauts" ? "meshnode" : `meshnode ${args[0]}`
        expect(result.code, args.join(" ")).toBe(2)
        expect(result.stderr, args.join(" ")).toBe(`${message} (see ${command} --help)`)
      }
    }),
  )

  it.live("--version works on every command", () =>
    Effect.gen(function* () {
      const version = (
        JSON.parse(yield* Effect.promise(() => readFile(join(repoRoot, "package.json"), "utf8"))) as {
          version: string
        }
      ).version
      for (const args of [[], ...commands.map((command) => [command])]) {
        const result = yield* meshnode([...args, "--version"])
        expect(result.code, args.join(" ")).toBe(0)
        expect(result.stdout.trim(), args.join(" ")).toBe(version)
      }
    }),
  )

  it.live("add-transaction refuses a node whose MY_PUBLIC_KEY is missing or not hex, unless --to is given", () =>
    Effect.gen(function* () {
      const dir = yield* makeTemplate(7365)
      const folder = join(dir, "node-1")
      yield* Effect.promise(() => writeFile(join(folder, ".env"), "PORT=7365\nMY_PUBLIC_KEY=not-hex\n"))
      expect(yield* meshnode(["add-transaction", folder])).toEqual({
        code: 1,
        stdout: "",
        stderr: `meshnode: MY_PUBLIC_KEY in ${folder}/.env is not hex: fix it, or pass --to <public key in hex>`,
      })
      yield* Effect.promise(() => writeFile(join(folder, ".env"), "PORT=7365\n"))
      expect((yield* meshnode(["add-transaction", folder])).stderr).toBe(
        `meshnode: no --to given and no MY_PUBLIC_KEY in ${folder}/.env: pass --to <public key in hex>`,
      )
    }),
  )

  it.live("an operation that fails says why on one line and ends with exit code 1", () =>
    Effect.gen(function* () {
      const dir = yield* makeTemplate()
      yield* Effect.promise(() => writeFile(join(dir, "node-1/.env"), "PORT=not-a-port\n"))
      const result = yield* meshnode(["add-transaction", join(dir, "node-1")], { NODES_DIR: dir })
      expect(result.code).toBe(1)
      expect(result.stderr).toBe(`meshnode: ${join(dir, "node-1/.env")} has no valid PORT (e.g. PORT=4001)`)
    }),
  )

  it.live("clone-node and delete-nodes work on NODES_DIR and end with a one-line summary", () =>
    Effect.gen(function* () {
      const dir = yield* makeTemplate()
      const first = yield* meshnode(["clone-node"], { NODES_DIR: dir })
      const second = yield* meshnode(["clone-node"], { NODES_DIR: dir })
      // The next port after the highest node folder's, following node-1's PORT (7360 here).
      expect(first).toEqual({ code: 0, stdout: `created node-2 (PORT=7361) in ${dir}`, stderr: "" })
      expect(second.stdout).toBe(`created node-3 (PORT=7362) in ${dir}`)
      expect(yield* Effect.promise(() => readFile(join(dir, "node-3/.env"), "utf8"))).toContain("MY_PUBLIC_KEY=04ab")
      expect(yield* meshnode(["delete-nodes"], { NODES_DIR: dir })).toEqual({
        code: 0,
        stdout: `node folders to delete in ${dir}: node-2, node-3\ndeleted node-2, node-3`,
        stderr: "",
      })
      expect(yield* Effect.promise(() => readdir(dir))).toEqual(["node-1"])
      expect((yield* meshnode(["delete-nodes"], { NODES_DIR: dir })).stdout).toBe("no node folders to delete")
    }),
  )

  it.live("the repository's node-1 ships an empty pool, and a clone starts empty whatever node-1 holds", () =>
    Effect.gen(function* () {
      const shipped = yield* Effect.promise(() => readFile(join(repoRoot, "nodes/node-1/transactions.json"), "utf8"))
      expect(JSON.parse(shipped)).toEqual([])
      const dir = yield* makeTemplate()
      const held = '[{"fromAddress":null,"toAddress":"ab","amount":5,"timeStamp":1,"hash":"x"}]'
      yield* Effect.promise(() => writeFile(join(dir, "node-1/transactions.json"), held))
      expect((yield* meshnode(["clone-node"], { NODES_DIR: dir })).code).toBe(0)
      expect(yield* Effect.promise(() => readFile(join(dir, "node-2/transactions.json"), "utf8"))).toBe("[]")
    }),
  )

  it.live(
    "clone-node --port takes the operator's port; the default follows the highest node's; a taken one is refused",
    () =>
      Effect.gen(function* () {
        const dir = yield* makeTemplate(7363)
        const chosen = yield* meshnode(["clone-node", "--port", "7370"], { NODES_DIR: dir })
        expect(chosen.stdout).toBe(`created node-2 (PORT=7370) in ${dir}`)
        expect((yield* meshnode(["clone-node"], { NODES_DIR: dir })).stdout).toBe(
          `created node-3 (PORT=7371) in ${dir}`,
        )
        const taken = yield* meshnode(["clone-node", "--port", "7370"], { NODES_DIR: dir })
        expect(taken).toEqual({ code: 1, stdout: "", stderr: "meshnode: port 7370 is node-2's: choose another --port" })
      }),
  )

  it.scopedLive("delete-nodes lists what it deletes and refuses a running node's folder unless --force", () =>
    Effect.gen(function* () {
      const dir = yield* makeTemplate()
      // Something answering on node-2's port is what a running node-2 looks like from outside.
      const server = yield* Effect.acquireRelease(
        Effect.promise(
          () =>
            new Promise<Server>((resolve) => {
              const listening = createServer((socket) => socket.destroy())
              listening.listen(0, "localhost", () => resolve(listening))
            }),
        ),
        (listening) => Effect.promise(() => new Promise<void>((resolve) => listening.close(() => resolve()))),
      )
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      yield* meshnode(["clone-node"], { NODES_DIR: dir })
      yield* meshnode(["clone-node"], { NODES_DIR: dir })
      yield* Effect.promise(() => writeFile(join(dir, "node-2/.env"), `PORT=${port}\n`))

      const refused = yield* meshnode(["delete-nodes"], { NODES_DIR: dir })
      expect(refused.code).toBe(1)
      expect(refused.stdout).toBe(`node folders to delete in ${dir}: node-2, node-3`)
      expect(refused.stderr).toBe(
        `meshnode: delete-nodes: node-2 (port ${port}) is running: stop it first, or pass --force; nothing was deleted`,
      )
      const dryRun = yield* meshnode(["delete-nodes", "--dry-run", "--force"], { NODES_DIR: dir })
      expect(dryRun.stdout.split("\n").at(-1)).toBe(`nothing deleted (--dry-run); running: node-2 (port ${port})`)
      expect((yield* Effect.promise(() => readdir(dir))).sort()).toEqual(["node-1", "node-2", "node-3"])

      const forced = yield* meshnode(["delete-nodes", "--force"], { NODES_DIR: dir })
      expect(forced.code).toBe(0)
      expect(forced.stdout.split("\n").at(-1)).toBe(
        `deleted node-2, node-3 (with --force: node-2 (port ${port}) running)`,
      )
      expect(yield* Effect.promise(() => readdir(dir))).toEqual(["node-1"])
    }),
  )

  it.live("status with no node running shows every node as down and exits 1", () =>
    Effect.gen(function* () {
      // A port of this engineer's range that nothing listens on.
      const dir = yield* makeTemplate(7399)
      const result = yield* meshnode(["status"], { NODES_DIR: dir })
      expect(result.code).toBe(1)
      expect(result.stdout).toMatch(/node-1\s+ws:\/\/localhost:7399\s+down/)
      expect(result.stdout.split("\n").at(-1)).toBe(
        "NOT HEALTHY: 0 of 1 nodes up, 0 of 0 node pairs connected, no pool to compare",
      )
    }),
  )

  it.live("status reports an unreadable node folder on its own line and still shows the others", () =>
    Effect.gen(function* () {
      const dir = yield* makeTemplate(7398)
      yield* Effect.promise(() => mkdir(join(dir, "node-2")))
      yield* Effect.promise(() => writeFile(join(dir, "node-2/.env"), "PORT=oops\n"))
      const result = yield* meshnode(["status"], { NODES_DIR: dir })
      expect(result.code).toBe(1)
      expect(result.stdout).toMatch(/node-1\s+ws:\/\/localhost:7398\s+down/)
      expect(result.stdout).toContain(
        `  node-2  unreadable: ${join(dir, "node-2/.env")} has no valid PORT (e.g. PORT=4001)`,
      )
      expect(result.stdout.split("\n").at(-1)).toBe(
        "NOT HEALTHY: 0 of 1 nodes up, 0 of 0 node pairs connected, no pool to compare, 1 folder(s) unreadable",
      )
      const json = yield* meshnode(["status", "--json"], { NODES_DIR: dir })
      expect(json.code).toBe(1)
      expect(JSON.parse(json.stdout)).toEqual([
        { name: "node-1", address: "ws://localhost:7398", state: "down", status: null, peers: null },
        {
          name: "node-2",
          state: "unreadable",
          problem: `${join(dir, "node-2/.env")} has no valid PORT (e.g. PORT=4001)`,
        },
      ])
    }),
  )

  describe("as processes", () => {
    it("the bin shim runs the CLI: --help exits 0 with plain text when piped", async () => {
      const result = await runCliProcess(["--help"], {}, 60_000, join(repoRoot, "bin/meshnode.js"))
      expect(result.code).toBe(0)
      expect(result.stdout).toContain("- add-transaction")
      // biome-ignore lint/suspicious/noControlCharactersInRegex: no ANSI escape may reach a pipe
      expect(result.stdout).not.toMatch(/\x1b\[/)
    })

    it("a bad argument exits 2 with one line on stderr", async () => {
      const result = await runCliProcess(["add-transaction", "--count", "x"])
      expect(result.code).toBe(2)
      expect(result.stderr).toBe(
        "meshnode add-transaction: 'x' is not a integer (see meshnode add-transaction --help)\n",
      )
    })

    it("`node --port --host` runs the folder's node on the operator's port and interface; Ctrl-C stops it", async () => {
      const dir = await makeNodesDir()
      const folder = await writeNodeFolder(dir, "node-1", { port: 7364, knownPeers: [] })
      const port = await freePort()
      const node = startCli(["node", folder, "--port", String(port), "--host", "127.0.0.1"], { NODES_DIR: dir })
      try {
        await node.waitForLine((line) => / listening /.test(line), 50_000)
        const status = await eventually(() => getStatus(port), 10_000, "the node to answer on --port")
        expect(status.address).toBe(`ws://localhost:${port}`)
        expect(await getStatus(7364)).toBeUndefined()
      } finally {
        expect((await node.stop("SIGINT")).code).toBe(0)
      }
    })

    it("src/main.ts --help prints the node's usage with every environment variable", async () => {
      const result = await runCliProcess(["--help"], {}, 60_000, join(repoRoot, "src/main.ts"))
      expect(result.code).toBe(0)
      expect(result.stdout).toContain("Usage: tsx src/main.ts [NODE_FOLDER]")
      for (const [name] of environmentVariables) expect(result.stdout).toContain(name)
      for (const endpoint of ["GET /status", "GET /metrics", "GET /"]) expect(result.stdout).toContain(endpoint)
      const [version, typo] = await Promise.all([
        runCliProcess(["--version"], {}, 60_000, join(repoRoot, "src/main.ts")),
        runCliProcess(["nodes/node-1", "--prot", "5"], {}, 60_000, join(repoRoot, "src/main.ts")),
      ])
      const { version: expected } = JSON.parse(await readFile(join(repoRoot, "package.json"), "utf8")) as {
        version: string
      }
      expect(version).toMatchObject({ code: 0, stdout: `${expected}\n` })
      expect(typo).toMatchObject({
        code: 2,
        stderr: "meshnode: unknown option '--prot'; did you mean '--port'? (see --help)\n",
      })
    })
  })
})
