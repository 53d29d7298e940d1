/**
 * The memory a pool of N transactions holds, and how long a node takes to load it:
 * `node --expose-gc --import tsx bench/tools/pool-memory.ts [N] [folder]`. Writes a pool file of N
 * transactions with 130-character addresses (uncompressed public keys) into `folder`, loads it with
 * the node's own pool layer, adds one transaction (so a write happens), and prints the RSS and heap
 * before and after, after a full GC. A file already there is loaded as it is.
 */
import { randomBytes } from "node:crypto"
import { createWriteStream, existsSync } from "node:fs"
import { mkdtemp } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as NodeContext from "@effect/platform-node/NodeContext"
import { Cause, Effect } from "effect"
import { makeTransaction } from "../../src/domain/Transaction.js"
import * as LimitsConfig from "../../src/layers/LimitsConfig.js"
import * as TransactionPoolFile from "../../src/layers/TransactionPoolFile.js"
import { defaultLimits } from "../../src/services/Limits.js"

const count = Number(process.argv[2] ?? 100_000)
const folder = process.argv[3] ?? (await mkdtemp(join(tmpdir(), "meshnode-pool-memory-")))
const file = join(folder, "transactions.json")

const key = () => `04${randomBytes(64).toString("hex")}`
const transaction = (i: number) =>
  makeTransaction({ fromAddress: key(), toAddress: key(), amount: i + 1, timeStamp: 1_700_000_000_000 + i })

// Written as a stream, entry by entry, as JSON.stringify(pool, null, 2) prints it; an existing file is kept
// (run once to make it, again to measure the load alone).
if (!existsSync(file))
  await new Promise<void>((resolve, reject) => {
    const out = createWriteStream(file)
    out.on("error", reject)
    out.write("[\n")
    let i = 0
    const more = () => {
      while (i < count) {
        const entry = `  ${JSON.stringify(transaction(i), null, 2).replaceAll("\n", "\n  ")}${i < count - 1 ? ",\n" : "\n"}`
        i++
        if (!out.write(entry)) return out.once("drain", more)
      }
      out.end("]", resolve)
    }
    more()
  })

const gc = (globalThis as { gc?: () => void }).gc ?? (() => {})
const mib = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10
const memory = () => {
  gc()
  const { rss, heapUsed, external, arrayBuffers } = process.memoryUsage()
  return { rss: mib(rss), heapUsed: mib(heapUsed), external: mib(external), arrayBuffers: mib(arrayBuffers) }
}

const before = memory()
const program = Effect.gen(function* () {
  const started = performance.now()
  const pool = yield* TransactionPoolFile.make(file)
  const loadMillis = Math.round(performance.now() - started)
  yield* pool.add(transaction(count))
  yield* pool.flush
  const after = memory()
  console.log(
    JSON.stringify({
      count: yield* pool.size,
      file,
      loadMillis,
      before,
      after,
      peakRss: mib(process.resourceUsage().maxRSS * 1024),
    }),
  )
}).pipe(
  Effect.scoped,
  Effect.provide(NodeContext.layer),
  // MAX_POOL_BYTES and MAX_POOL_TRANSACTIONS from the environment, as a node reads them.
  Effect.provide(
    LimitsConfig.layerStatic({
      maxPoolBytes: Number(process.env.MAX_POOL_BYTES ?? defaultLimits.maxPoolBytes),
      maxPoolTransactions: Number(process.env.MAX_POOL_TRANSACTIONS ?? defaultLimits.maxPoolTransactions),
    }),
  ),
)
const exit = await Effect.runPromiseExit(program)
if (exit._tag === "Failure") {
  console.log(Cause.pretty(exit.cause))
  process.exitCode = 1
}
