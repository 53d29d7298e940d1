import { spawn } from "node:child_process"
import { createHash } from "node:crypto"
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { basename, join } from "node:path"
import { build } from "esbuild"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { repoRoot } from "./support/processes.js"

/**
 * The production entry `dist/main.mjs` (scripts/codeCacheLoader.ts) runs `main.cjs` through the V8 code
 * cache `main.cjs.cache`. On a tiny CommonJS program: a cache it wrote is accepted, a damaged or foreign
 * one is ignored and the program still runs, `MESHNODE_CODE_CACHE=off` skips it. Then the real build
 * into a temp folder: its training run leaves a cache the built node accepts.
 */
interface Outcome {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

const run = (script: string, args: ReadonlyArray<string>, env: Record<string, string> = {}): Promise<Outcome> =>
  new Promise((resolve, reject) => {
    const { MESHNODE_CODE_CACHE: _off, MESHNODE_CODE_CACHE_WRITE: _write, ...inherited } = process.env
    const child = spawn(process.execPath, [script, ...args], {
      env: { ...inherited, MESHNODE_CODE_CACHE_DEBUG: "1", ...env },
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
    const timer = setTimeout(() => {
      child.kill("SIGKILL")
      reject(new Error(`${script} did not exit in 30 s:\n${stdout}\n${stderr}`))
    }, 30_000)
    child.once("exit", (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })

// Enough functions that a cache has something to hold; argv, require, __dirname and exit codes as a node uses them.
const program = `"use strict";
const path = require("node:path");
const square = (n) => n * n;
function sum(values) { return values.reduce((a, b) => a + b, 0); }
const [mode = "ok"] = process.argv.slice(2);
if (mode === "throw") throw new Error("thrown on purpose");
console.log(JSON.stringify({ sum: sum([1, 2, 3].map(square)), dir: path.basename(__dirname), thisIsExports: this === module.exports }));
process.exitCode = mode === "exit3" ? 3 : 0;
`

describe("code cache loader", () => {
  let dir = ""
  let entry = ""
  let cacheFile = ""
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "meshnode-code-cache-test-"))
    entry = join(dir, "main.mjs")
    cacheFile = join(dir, "main.cjs.cache")
    await writeFile(join(dir, "main.cjs"), program)
    await build({
      entryPoints: [join(repoRoot, "scripts/codeCacheLoader.ts")],
      outfile: entry,
      platform: "node",
      format: "esm",
      logLevel: "silent",
    })
  })
  afterAll(() => rm(dir, { recursive: true, force: true }))

  const expected = () => `${JSON.stringify({ sum: 14, dir: basename(dir), thisIsExports: true })}\n`

  it("writes a cache on exit, prefixed with the digest of main.cjs, and then uses it", async () => {
    const first = await run(entry, [], { MESHNODE_CODE_CACHE_WRITE: cacheFile })
    expect(first).toMatchObject({ code: 0, stdout: expected() })
    expect(first.stderr).toContain("code cache: none")
    const cache = await readFile(cacheFile)
    const digest = createHash("sha256")
      .update(await readFile(join(dir, "main.cjs")))
      .digest()
    expect(cache.subarray(0, 32).equals(digest)).toBe(true)
    expect(cache.length).toBeGreaterThan(100)

    const second = await run(entry, ["exit3"])
    expect(second).toMatchObject({ code: 3, stdout: expected(), stderr: "code cache: accepted\n" })
    // Without the debug variable, nothing on stderr.
    expect(await run(entry, [], { MESHNODE_CODE_CACHE_DEBUG: "" })).toMatchObject({ code: 0, stderr: "" })
  })

  it("compiles normally when the cache is truncated, foreign or turned off", async () => {
    await run(entry, [], { MESHNODE_CODE_CACHE_WRITE: cacheFile })
    const good = await readFile(cacheFile)

    await writeFile(cacheFile, good.subarray(0, 32 + 40))
    const truncated = await run(entry, [])
    expect(truncated).toMatchObject({ code: 0, stdout: expected() })
    expect(truncated.stderr).toContain("rejected by V8")

    await writeFile(cacheFile, good.subarray(0, 10))
    const short = await run(entry, [])
    expect(short).toMatchObject({ code: 0, stdout: expected() })
    expect(short.stderr).toContain("is not of this main.cjs")

    // V8 checks only the source's length: a cache of another source of the same length must not be used.
    const other = Buffer.from(good)
    other[0] = (other[0] ?? 0) ^ 0xff
    await writeFile(cacheFile, other)
    expect((await run(entry, [])).stderr).toContain("is not of this main.cjs")

    await writeFile(cacheFile, good)
    expect(await run(entry, [], { MESHNODE_CODE_CACHE: "off" })).toMatchObject({
      code: 0,
      stdout: expected(),
      stderr: "code cache: off (MESHNODE_CODE_CACHE=off)\n",
    })
  })

  it("names main.cjs and the line in a stack trace", async () => {
    const thrown = await run(entry, ["throw"])
    expect(thrown.code).toBe(1)
    expect(thrown.stderr).toContain("thrown on purpose")
    expect(thrown.stderr).toContain(`${join(dir, "main.cjs")}:6`)
  })
})

describe("npm run build", () => {
  let outdir = ""
  beforeAll(async () => {
    outdir = await mkdtemp(join(tmpdir(), "meshnode-build-test-"))
  })
  afterAll(() => rm(outdir, { recursive: true, force: true }))

  it("trains a code cache the built node accepts", async () => {
    const built = await run(join(repoRoot, "node_modules/tsx/dist/cli.mjs"), [
      join(repoRoot, "scripts/build.ts"),
      "--outdir",
      outdir,
    ])
    expect(built.code).toBe(0)
    expect(built.stdout).toContain("code cache")
    expect(built.stdout).not.toContain("without a code cache")
    const help = await run(join(outdir, "main.mjs"), ["--help"])
    expect(help).toMatchObject({ code: 0, stderr: "code cache: accepted\n" })
    expect(help.stdout).toContain("Usage:")
  })
})
