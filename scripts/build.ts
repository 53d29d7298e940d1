import { copyFile, mkdir, rm } from "node:fs/promises"
import { join, resolve } from "node:path"
import { parseArgs } from "node:util"
import { build } from "esbuild"
import { trainCodeCache } from "./trainCodeCache.js"

/**
 * `npm run build`: the production start, `node dist/main.mjs nodes/node-1`. Bundling tree-shakes
 * Effect and skips tsx's loader: a node starts faster and needs less than half the memory of
 * `tsx src/main.ts`, which stays the way to run the source.
 *
 * `dist/main.cjs` is the whole node as one CommonJS bundle; `dist/main.mjs` (scripts/codeCacheLoader.ts)
 * runs it through the V8 code cache `dist/main.cjs.cache`, which a short training run of 3 nodes writes
 * here (Node 22's compile cache by hand for Node 20). If training fails, the build still succeeds,
 * without a cache. `--outdir <dir>` builds elsewhere (tests), `--no-train` skips the cache.
 */
const root = resolve(import.meta.dirname, "..")
const { values } = parseArgs({
  options: { outdir: { type: "string", default: join(root, "dist") }, "no-train": { type: "boolean", default: false } },
})
const outdir = resolve(values.outdir)

// A cache left from an earlier build must never sit beside a new bundle.
await rm(join(outdir, "main.cjs.cache"), { force: true })
const bundled = await build({
  entryPoints: [join(root, "src/main.ts")],
  outfile: join(outdir, "main.cjs"),
  bundle: true,
  platform: "node",
  // CommonJS, because only a classic script can be compiled with a code cache (vm.Script) on Node 20.
  format: "cjs",
  target: "node20",
  minifySyntax: true,
  legalComments: "none",
  logLevel: "warning",
  define: { "import.meta.dirname": "__dirname" },
  metafile: true,
})
// esbuild turns a bundled import() into require; one left (of an external module) would fail in a
// script compiled from the code cache (ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING on Node 20).
const dynamicImports = Object.values(bundled.metafile.outputs)
  .flatMap((output) => output.imports)
  .filter((imported) => imported.kind === "dynamic-import")
if (dynamicImports.length > 0) {
  throw new Error(`the bundle must not import() at run time: ${dynamicImports.map((i) => i.path).join(", ")}`)
}
await build({
  entryPoints: [join(root, "scripts/codeCacheLoader.ts")],
  outfile: join(outdir, "main.mjs"),
  platform: "node",
  format: "esm",
  target: "node20",
  logLevel: "warning",
})
// The dashboard page is read at start-up from beside the code.
await mkdir(join(outdir, "http"), { recursive: true })
await copyFile(join(root, "src/http/dashboard.html"), join(outdir, "http/dashboard.html"))

if (values["no-train"]) {
  console.log(`built ${join(outdir, "main.mjs")} (no code cache: --no-train)`)
} else {
  const started = Date.now()
  try {
    const cache = await trainCodeCache(outdir)
    console.log(`built ${join(outdir, "main.mjs")}, code cache ${cache} (trained in ${Date.now() - started} ms)`)
  } catch (error) {
    console.log(
      `built ${join(outdir, "main.mjs")} without a code cache: training failed (${error instanceof Error ? error.message : String(error)})`,
    )
  }
}
