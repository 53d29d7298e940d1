import { copyFile, mkdir } from "node:fs/promises"
import { dirname, join, resolve } from "node:path"
import { build } from "esbuild"

/**
 * `npm run build`: one bundled file, `dist/main.mjs`, for production starts (`node dist/main.mjs
 * nodes/node-1`). Bundling tree-shakes Effect and skips tsx's loader: a node starts faster and
 * needs less than half the memory of `tsx src/main.ts`, which stays the way to run the source.
 */
const root = resolve(import.meta.dirname, "..")
const outfile = join(root, "dist/main.mjs")

await build({
  entryPoints: [join(root, "src/main.ts")],
  outfile,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  minifySyntax: true,
  legalComments: "none",
  logLevel: "warning",
  // Some CommonJS dependencies (ws) call require; give the ESM bundle one.
  banner: {
    js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  },
})
// The dashboard page is read at start-up from beside the code.
await mkdir(join(dirname(outfile), "http"), { recursive: true })
await copyFile(join(root, "src/http/dashboard.html"), join(dirname(outfile), "http/dashboard.html"))
console.log(`built ${outfile}`)
