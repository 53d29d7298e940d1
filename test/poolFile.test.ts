import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as NodeContext from "@effect/platform-node/NodeContext"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { makeJsonArrayScanner } from "../src/domain/jsonArrayScanner.js"
import { makeTransaction } from "../src/domain/Transaction.js"
import * as LimitsConfig from "../src/layers/LimitsConfig.js"
import { makeRenderedStore } from "../src/layers/poolStore.js"
import * as TransactionPoolFile from "../src/layers/TransactionPoolFile.js"

/** The pool file: read in pieces, held once (as its bytes), bounded at start. */

const key = (i: number) => `04${i.toString(16).padStart(128, "0")}`
const txs = (count: number) =>
  Array.from({ length: count }, (_, i) =>
    makeTransaction({ fromAddress: i % 7 === 0 ? null : key(i + 1), toAddress: key(i), amount: i + 0.5, timeStamp: i }),
  )

const tempFolder = Effect.acquireRelease(
  Effect.promise(() => mkdtemp(join(tmpdir(), "meshnode-poolfile-"))),
  (dir) => Effect.promise(() => rm(dir, { recursive: true, force: true })),
)

/** Feeds `text` to a scanner in pieces of `size` bytes; answers the elements and the first error. */
const scanInPieces = (text: string, size: number) => {
  const elements: Array<string> = []
  const scanner = makeJsonArrayScanner((element) => {
    elements.push(element)
    return undefined
  })
  const bytes = Buffer.from(text)
  let error: string | undefined
  for (let i = 0; i < bytes.length && error === undefined; i += size) error = scanner.push(bytes.subarray(i, i + size))
  return { elements, error: error ?? scanner.end() }
}

describe("the JSON array scanner", () => {
  it("splits an array into its elements wherever the pieces break, strings and nesting included", () => {
    const elements = [{ a: 'x]},[{"\\' }, { b: [1, { c: "é€😀" }] }, "s,]", 12.5, null, { d: "\\" }]
    const text = ` [${elements.map((e) => JSON.stringify(e, null, 2)).join(" ,\n")} ]\n`
    for (const size of [1, 2, 3, 7, 64, text.length]) {
      const scanned = scanInPieces(text, size)
      expect(scanned.error).toBeUndefined()
      expect(scanned.elements.map((e) => JSON.parse(e))).toEqual(elements)
    }
    expect(scanInPieces("[]", 1)).toEqual({ elements: [], error: undefined })
  })

  it("names what breaks the array's frame", () => {
    const cases: Record<string, string> = {
      "": "the file is empty",
      '{"transactions":[]}': 'expected "[" at byte 0',
      "[1,,2]": "expected a transaction at byte 3",
      "[1,]": "expected a transaction at byte 3",
      '[{"a":1} {"b":2}]': 'expected "," or "]" at byte 9',
      '[{"a":1}] x': 'unexpected data after the closing "]" at byte 10',
      '[{"fromAddress": null,': 'the file ends before the array\'s closing "]" (22 bytes)',
    }
    for (const [text, error] of Object.entries(cases)) expect(scanInPieces(text, 3).error).toBe(error)
  })
})

describe("the pool file", () => {
  it("the rendered store holds the file's bytes across chunks, and gives the transactions back", () => {
    const store = makeRenderedStore()
    expect(Buffer.concat(store.file()).toString()).toBe("[]")
    const all = txs(2_000)
    for (const tx of all) store.append(tx)
    expect(Buffer.concat(store.file()).toString()).toBe(JSON.stringify(all, null, 2))
    expect(store.bytes()).toBe(Buffer.byteLength(JSON.stringify(all, null, 2)))
    expect(store.list()).toEqual(all)
    expect(store.has(all[1_999]?.hash ?? "")).toBe(true)
    expect(store.size()).toBe(2_000)
  })

  it.scoped(
    "a node starts on a pool file of several MB, read in pieces, and writes it back unchanged plus what it adds",
    () =>
      Effect.gen(function* () {
        const file = join(yield* tempFolder, "transactions.json")
        const all = txs(12_001)
        const initial = all.slice(0, 12_000)
        yield* Effect.promise(() => writeFile(file, JSON.stringify(initial, null, 2)))
        expect((yield* Effect.promise(() => stat(file))).size).toBeGreaterThan(4_000_000)
        const pool = yield* TransactionPoolFile.make(file)
        expect(yield* pool.size).toBe(12_000)
        expect(yield* pool.list).toEqual(initial)
        yield* pool.addAll(all)
        yield* pool.flush
        expect(yield* Effect.promise(() => readFile(file, "utf8"))).toBe(JSON.stringify(all, null, 2))
      }).pipe(Effect.provide(NodeContext.layer)),
  )

  it.scoped("a pool file past MAX_POOL_BYTES or MAX_POOL_TRANSACTIONS is refused at start, naming the variable", () =>
    Effect.gen(function* () {
      const file = join(yield* tempFolder, "transactions.json")
      const content = JSON.stringify(txs(10), null, 2)
      yield* Effect.promise(() => writeFile(file, content))
      const overBytes = yield* Effect.flip(
        Effect.scoped(TransactionPoolFile.make(file)).pipe(
          Effect.provide(LimitsConfig.layerStatic({ maxPoolBytes: content.length - 1 })),
        ),
      )
      expect(overBytes).toMatchObject({ _tag: "PoolError", reason: "TooLarge" })
      expect(overBytes.message).toContain(`is ${content.length} bytes`)
      expect(overBytes.message).toContain("raise MAX_POOL_BYTES")
      const overCount = yield* Effect.flip(
        Effect.scoped(TransactionPoolFile.make(file)).pipe(
          Effect.provide(LimitsConfig.layerStatic({ maxPoolTransactions: 9 })),
        ),
      )
      expect(overCount).toMatchObject({ reason: "TooLarge" })
      expect(overCount.message).toContain("more than the pool's limit of 9 transactions (MAX_POOL_TRANSACTIONS)")
      expect(overCount.message).not.toContain("\n")
      // Exactly at the limits it starts.
      const atLimits = LimitsConfig.layerStatic({ maxPoolBytes: content.length, maxPoolTransactions: 10 })
      const pool = yield* TransactionPoolFile.make(file).pipe(Effect.provide(atLimits))
      expect(yield* pool.size).toBe(10)
      expect(yield* Effect.promise(() => readFile(file, "utf8"))).toBe(content)
    }).pipe(Effect.provide(NodeContext.layer)),
  )

  it.scoped("a corrupt entry is named in one line", () =>
    Effect.gen(function* () {
      const file = join(yield* tempFolder, "transactions.json")
      const [first, second] = txs(2)
      yield* Effect.promise(() => writeFile(file, JSON.stringify([first, { ...second, amount: -1 }], null, 2)))
      const error = yield* Effect.flip(Effect.scoped(TransactionPoolFile.make(file)))
      expect(error).toMatchObject({ reason: "Corrupt" })
      expect(error.message).toContain("transaction 2: amount:")
      expect(error.message).not.toContain("\n")
    }).pipe(Effect.provide(NodeContext.layer)),
  )
})
