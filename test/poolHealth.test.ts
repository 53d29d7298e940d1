import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as NodeContext from "@effect/platform-node/NodeContext"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Stream } from "effect"
import { localAddress } from "../src/domain/Address.js"
import { makeTransaction } from "../src/domain/Transaction.js"
import * as HttpHandlerNode from "../src/layers/HttpHandlerNode.js"
import * as NodeConfigFolder from "../src/layers/NodeConfigFolder.js"
import * as NodeStatsRef from "../src/layers/NodeStatsRef.js"
import * as PeerStoreRef from "../src/layers/PeerStoreRef.js"
import * as TransactionPoolFile from "../src/layers/TransactionPoolFile.js"
import * as TransactionPoolMemory from "../src/layers/TransactionPoolMemory.js"
import { HttpHandler } from "../src/services/HttpHandler.js"
import { PeerStore } from "../src/services/PeerStore.js"
import { type PoolHealth, TransactionPool } from "../src/services/TransactionPool.js"
import { withLogs } from "./support/logs.js"

/** Health that tells the truth: a pool that cannot be written makes the node degraded, until it can. */

const tempFolder = Effect.acquireRelease(
  Effect.promise(() => mkdtemp(join(tmpdir(), "meshnode-health-"))),
  (dir) => Effect.promise(() => rm(dir, { recursive: true, force: true })),
)

const txs = (count: number) =>
  Array.from({ length: count }, (_, i) =>
    makeTransaction({ fromAddress: null, toAddress: `04${i.toString(16)}`, amount: i + 1, timeStamp: i }),
  )

/** The node's HTTP side over the given pool, with no known peers unless told. */
const httpLayer = <E, R>(pool: Layer.Layer<TransactionPool, E, R>, knownPeers: ReadonlyArray<number> = []) =>
  HttpHandlerNode.layer.pipe(
    Layer.provideMerge(
      Layer.mergeAll(
        pool,
        PeerStoreRef.layer,
        NodeStatsRef.layer,
        NodeConfigFolder.layerStatic({ port: 4390, knownPeers: knownPeers.map(localAddress) }),
      ),
    ),
    Layer.provide(NodeContext.layer),
  )

const get = (url: string) => Effect.flatMap(HttpHandler, (http) => http.handle({ method: "GET", url }))

const waitForHealth = (predicate: (health: PoolHealth) => boolean) =>
  Effect.flatMap(TransactionPool, (pool) =>
    pool.healthChanges.pipe(Stream.filter(predicate), Stream.runHead, Effect.timeout("10 seconds")),
  )

describe("pool health", () => {
  it.live("a pool that cannot be written: degraded once, /healthz 503, everything kept; written all on recovery", () =>
    withLogs((logs) =>
      Effect.gen(function* () {
        const file = join(yield* tempFolder, "transactions.json")
        // The temporary file's path taken by a folder: every write fails, for root too.
        const blocker = `${file}.tmp-${process.pid}`
        const http = yield* Layer.build(httpLayer(TransactionPoolFile.layer(file)))
        const pool = yield* Effect.provide(TransactionPool, http)
        expect((yield* Effect.provide(get("/healthz"), http)).status).toBe(200)

        yield* Effect.promise(() => mkdir(blocker))
        const sent = txs(5)
        yield* pool.add(sent[0] ?? makeTransaction({ fromAddress: null, toAddress: "04", amount: 1, timeStamp: 0 }))
        yield* Effect.provide(
          waitForHealth((h) => h.degraded),
          http,
        )
        // More arrive while degraded, and several retries fail: still one line.
        yield* pool.addAll(sent.slice(1))
        yield* Effect.provide(
          waitForHealth((h) => h.writeFailures >= 3),
          http,
        )
        const health = yield* pool.health
        expect(health).toMatchObject({ degraded: true, unwritten: 5 })
        expect(health.reason).toContain("EISDIR")
        const healthz = yield* Effect.provide(get("/healthz"), http)
        expect(healthz.status).toBe(503)
        expect(JSON.parse(healthz.body)).toMatchObject({ status: "degraded", unwritten: 5 })
        const status = JSON.parse((yield* Effect.provide(get("/status"), http)).body)
        expect(status).toMatchObject({ degraded: true, counters: { poolWriteFailures: health.writeFailures } })
        expect(status.degradedReason).toContain("EISDIR")
        const metrics = (yield* Effect.provide(get("/metrics"), http)).body
        expect(metrics).toContain("\nmeshnode_degraded 1\n")
        expect(metrics).toMatch(/\nmeshnode_pool_write_failures_total [1-9]/)
        expect(yield* Effect.promise(() => readFile(file, "utf8"))).toBe("[]")

        yield* Effect.promise(() => rm(blocker, { recursive: true }))
        yield* Effect.provide(
          waitForHealth((h) => !h.degraded),
          http,
        )
        yield* pool.flush
        expect(yield* Effect.promise(() => readFile(file, "utf8"))).toBe(JSON.stringify(sent, null, 2))
        expect((yield* pool.health).unwritten).toBe(0)
        expect((yield* Effect.provide(get("/healthz"), http)).status).toBe(200)
        expect((yield* logs.lines).filter((line) => line.message.startsWith("pool write failed"))).toHaveLength(1)
        expect(yield* logs.named("pool written again")).toHaveLength(1)
      }),
    ).pipe(Effect.scoped, Effect.provide(NodeContext.layer)),
  )

  it.scoped("/readyz: ready alone by config, not ready while no known peer is connected, ready once one is", () =>
    Effect.gen(function* () {
      const alone = yield* Layer.build(httpLayer(TransactionPoolMemory.layer()))
      expect((yield* Effect.provide(get("/readyz"), alone)).status).toBe(200)

      const meshed = yield* Layer.build(httpLayer(TransactionPoolMemory.layer(), [4391]))
      const waiting = yield* Effect.provide(get("/readyz"), meshed)
      expect(waiting.status).toBe(503)
      expect(JSON.parse(waiting.body)).toMatchObject({ status: "not meshed", knownPeers: 1 })
      const peers = yield* Effect.provide(PeerStore, meshed)
      yield* peers.claim(localAddress(4391))
      yield* peers.register({
        address: localAddress(4391),
        direction: "outbound",
        kind: "ours",
        close: Effect.void,
        send: () => Effect.void,
      })
      expect((yield* Effect.provide(get("/readyz"), meshed)).status).toBe(200)
      expect((yield* Effect.provide(get("/healthz"), meshed)).status).toBe(200)
    }),
  )
})
