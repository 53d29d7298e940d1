import { createHash } from "node:crypto"
import { readFileSync, renameSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import { Script } from "node:vm"

/**
 * `dist/main.mjs`, the file people run: Node 22's `module.enableCompileCache()` done by hand for
 * Node 20. It runs the CommonJS bundle beside it (`main.cjs`) as Node's own CommonJS loader would, but
 * compiles it with `vm.Script` and the V8 code cache `main.cjs.cache` the build wrote after a training
 * run, so neither the start nor the first connections pay to parse and compile the code they use.
 *
 * `main.cjs.cache` is the SHA-256 of `main.cjs` followed by V8's data: V8 itself only checks the
 * source's length, so the digest keeps a cache from another build from being used. A missing, foreign
 * or rejected cache (another Node version or V8 flags) means a normal compile, silently.
 * Env: `MESHNODE_CODE_CACHE=off` compiles without the cache; `MESHNODE_CODE_CACHE_DEBUG=1` says in one
 * stderr line what happened; `MESHNODE_CODE_CACHE_WRITE=<file>` writes a cache of everything compiled
 * so far to that file when the process exits (what the build's training run uses).
 */
const file = join(import.meta.dirname, "main.cjs")
const cacheFile = `${file}.cache`
const debug = (message: string): undefined => {
  if (process.env.MESHNODE_CODE_CACHE_DEBUG) process.stderr.write(`code cache: ${message}\n`)
}

const readCache = (digest: Buffer): Buffer | undefined => {
  if (process.env.MESHNODE_CODE_CACHE === "off") return debug("off (MESHNODE_CODE_CACHE=off)")
  let data: Buffer
  try {
    data = readFileSync(cacheFile)
  } catch {
    return debug(`none (${cacheFile})`)
  }
  if (data.length <= digest.length || !digest.equals(data.subarray(0, digest.length))) {
    return debug(`${cacheFile} is not of this main.cjs, not used`)
  }
  return data.subarray(digest.length)
}

// In a function so the file's bytes and the cache (several MB) can be collected once compiled.
const compile = (): { readonly script: Script; readonly digest: Buffer } => {
  const bytes = readFileSync(file)
  const digest = createHash("sha256").update(bytes).digest()
  const cachedData = readCache(digest)
  // Node's CommonJS wrapper, on the source's first line so line numbers in stack traces stay the file's.
  const script = new Script(
    `(function (exports, require, module, __filename, __dirname) {${bytes.toString("utf8")}\n})`,
    {
      filename: file,
      // No importModuleDynamically: Node 20 loses it for a script from a cache, so the build refuses import().
      ...(cachedData === undefined ? {} : { cachedData }),
    },
  )
  if (cachedData !== undefined) {
    debug(script.cachedDataRejected ? "rejected by V8 (another Node version or flags?), compiled normally" : "accepted")
  }
  return { script, digest }
}
const { script, digest } = compile()

const writeTo = process.env.MESHNODE_CODE_CACHE_WRITE
if (writeTo) {
  // On exit the cache holds every function compiled while the process ran, not only the top level.
  process.once("exit", () => {
    const temp = `${writeTo}.tmp-${process.pid}`
    try {
      writeFileSync(temp, Buffer.concat([digest, script.createCachedData()]))
      renameSync(temp, writeTo)
    } catch (error) {
      process.stderr.write(`code cache: could not write ${writeTo}: ${String(error)}\n`)
    }
  })
}

type CommonJsWrapper = (
  exports: object,
  require: NodeJS.Require,
  module: { exports: object },
  filename: string,
  dirname: string,
) => void
const commonJsModule = { exports: {} }
const run = script.runInThisContext() as CommonJsWrapper
run.call(commonJsModule.exports, commonJsModule.exports, createRequire(file), commonJsModule, file, dirname(file))
