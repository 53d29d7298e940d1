import { FileSystem, Path } from "@effect/platform"
import { Effect, Layer, Option } from "effect"
import { checkHealth, checkReady, type ProbeResult } from "../http/health.js"
import { collectMetrics } from "../http/metrics.js"
import { collectPeer, collectPeers, type OnePeer } from "../http/peers.js"
import { makeCollectStatus } from "../http/status.js"
import { HttpHandler, type PlainRequest, type PlainResponse } from "../services/HttpHandler.js"
import type { NodeConfig } from "../services/NodeConfig.js"
import type { PeerStore } from "../services/PeerStore.js"
import { TransactionPool } from "../services/TransactionPool.js"

const respond = (status: number, contentType: string, body: string): PlainResponse => ({
  status,
  // The dashboard served by one node polls the /status of the others: allow it from any origin.
  headers: { "content-type": contentType, "cache-control": "no-store", "access-control-allow-origin": "*" },
  body,
})

const txPath = /^\/tx\/([0-9a-f]{64})$/

/** The answer to `GET /peers?address=…`. */
const onePeerResponse = (answer: OnePeer): PlainResponse => {
  switch (answer._tag) {
    case "Found":
      return respond(200, "application/json", JSON.stringify(answer.report))
    case "Absent":
      return respond(404, "text/plain", `no entry for ${answer.address} in this node's peer table\n`)
    case "NotAnAddress":
      return respond(400, "text/plain", `not a peer address (${answer.problem}): try /peers?address=ws://host:port\n`)
  }
}

/**
 * The node's plain-HTTP side: `GET /status` (JSON), `GET /peers` (JSON, the peer table; with
 * `?address=ws://…`, one entry), `GET /metrics` (Prometheus text), the probes
 * `GET /healthz` and `GET /readyz` (http/health.ts), `GET /tx/:hash` (one transaction, JSON) and
 * `GET /` (the dashboard page, a static file with no build step).
 */
export const make = Effect.gen(function* () {
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  // Beside the sources (src/layers → src/http) or beside the bundle (dist → dist/http).
  const candidates = ["../http/dashboard.html", "http/dashboard.html"].map((file) =>
    path.join(import.meta.dirname, file),
  )
  const dashboardFile = yield* Effect.findFirst(candidates, (file) =>
    fs.exists(file).pipe(Effect.orElseSucceed(() => false)),
  )
  const dashboard = yield* fs.readFileString(Option.getOrElse(dashboardFile, () => candidates[0] ?? ""))
  const context = yield* Effect.context<NodeConfig | PeerStore | TransactionPool>()
  const status = Effect.provide(yield* makeCollectStatus, context)
  const metrics = Effect.provide(collectMetrics(status), context)
  const probe = (check: Effect.Effect<ProbeResult, never, NodeConfig | PeerStore | TransactionPool>) =>
    Effect.map(Effect.provide(check, context), (r) => respond(r.status, "application/json", JSON.stringify(r.body)))
  const pool = yield* TransactionPool
  const transaction = (hash: string) =>
    Effect.map(pool.lookup([hash]), ([tx]) =>
      tx === undefined
        ? respond(404, "text/plain", `no transaction ${hash} in this node's pool\n`)
        : respond(200, "application/json", JSON.stringify(tx)),
    )
  const peers = Effect.provide(collectPeers, context)
  const peer = (text: string) => Effect.map(Effect.provide(collectPeer(text), context), onePeerResponse)

  const handle = (request: PlainRequest): Effect.Effect<PlainResponse> => {
    const [pathname = "/", query = ""] = request.url.split("?")
    if (request.method !== "GET") return Effect.succeed(respond(405, "text/plain", "only GET is supported\n"))
    const tx = txPath.exec(pathname)
    if (tx?.[1] !== undefined) return transaction(tx[1])
    switch (pathname) {
      case "/status":
        return Effect.map(status, (s) => respond(200, "application/json", JSON.stringify(s)))
      case "/peers": {
        const address = new URLSearchParams(query).get("address")
        if (address !== null) return peer(address)
        return Effect.map(peers, (p) => respond(200, "application/json", JSON.stringify(p)))
      }
      case "/metrics":
        return Effect.map(metrics, (text) => respond(200, "text/plain; version=0.0.4; charset=utf-8", text))
      case "/healthz":
        return probe(checkHealth)
      case "/readyz":
        return probe(checkReady)
      case "/":
      case "/index.html":
        return Effect.succeed(respond(200, "text/html; charset=utf-8", dashboard))
      default:
        return Effect.succeed(
          respond(404, "text/plain", "not found: try /, /status, /peers, /metrics, /healthz, /readyz or /tx/<hash>\n"),
        )
    }
  }
  // No span per request: a dashboard polls every second, and those traces would bury the gossip's.
  return HttpHandler.of({ handle })
})

export const layer = Layer.scoped(HttpHandler, make)
