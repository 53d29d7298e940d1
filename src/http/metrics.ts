import { Effect } from "effect"
import { Counter, collectDefaultMetrics, Gauge, Registry } from "prom-client"
import packageJson from "../../package.json" with { type: "json" }
import type { NodeStatus } from "../domain/NodeStatus.js"
import { droppedLogLines } from "../layers/logSink.js"
import { NodeStats } from "../services/NodeStats.js"
import { registerHistogram } from "./histogram.js"

/**
 * /metrics in the Prometheus text format, from prom-client. Two registries: the process's (CPU,
 * memory, heap, event-loop lag, open fds, build info, dropped log lines), shared by every node of a
 * process, and one per node. A node's counters stay plain numbers on the frame path (NodeStatsRef);
 * they are copied into prom-client's metrics when /metrics is read, so a frame costs no more than it did.
 */

let processRegistry: Registry | undefined

/** The process's own metrics, registered once per process; the event-loop monitor starts then. */
const processMetrics = (): Registry => {
  if (processRegistry !== undefined) return processRegistry
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 20 })
  new Gauge({
    name: "meshnode_build_info",
    help: "Always 1; the labels say which meshnode and Node.js this is.",
    labelNames: ["version", "nodejs"],
    registers: [registry],
  }).set({ version: packageJson.version, nodejs: process.versions.node }, 1)
  new Counter({
    name: "meshnode_log_lines_dropped_total",
    help: "Log lines that could not be written (stdout or stderr closed or on a full disk).",
    registers: [registry],
    collect() {
      this.reset()
      this.inc(droppedLogLines())
    },
  })
  processRegistry = registry
  return registry
}

/** The counters /status reports, by key, with their metric names. */
const counters: ReadonlyArray<{ readonly key: string; readonly name: string; readonly help: string }> = [
  { key: "transactionsAccepted", name: "transactions_accepted_total", help: "New transactions added to the pool." },
  { key: "transactionsDuplicate", name: "transactions_duplicate_total", help: "Transactions already in the pool." },
  { key: "dialsFailed", name: "dials_failed_total", help: "Outbound connections that could not be opened." },
  { key: "poolRefusedFull", name: "pool_full_refused_total", help: "Transactions refused: the pool was full." },
  {
    key: "poolRefusedTooLong",
    name: "transactions_too_long_refused_total",
    help: "Transactions refused: an address over MAX_ADDRESS_LENGTH.",
  },
  { key: "poolWriteFailures", name: "pool_write_failures_total", help: "Pool writes that failed (each is retried)." },
  {
    key: "adoptedConnections",
    name: "connections_adopted_total",
    help: "Inbound connections from nodes of ours kept as the pair's only connection.",
  },
  {
    key: "peersNotReading",
    name: "peers_not_reading_total",
    help: "Connections closed: the peer left more than MAX_SEND_BUFFER_BYTES of what we sent unread.",
  },
]

/** The reasons a frame is refused (protocol/frameGuard.ts), shown at 0 before the first one. */
const refusalReasons = [
  "binary frame",
  "not JSON",
  "no message type",
  "invalid message",
  "too large",
  "too deeply nested",
  "rate limit exceeded",
]
const labelOf = (reason: string): string => reason.replaceAll(" ", "_")

/** Seconds, from 1 ms to 30 s: a hop on loopback takes about a millisecond, a slow network seconds. */
const latencyBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

/** What a node counts that /status does not carry: refusals by reason and the histograms. */
export interface NodeMetricsInput {
  readonly status: NodeStatus
  readonly framesRefused: Readonly<Record<string, number>>
}

/** A node's metrics, registered in `registry` (in this order, which is the order /metrics shows). */
const registerNodeMetrics = (registry: Registry) => {
  const registers = [registry]
  const counter = (name: string, help: string, labelNames: ReadonlyArray<string> = []) =>
    new Counter({ name: `meshnode_${name}`, help, labelNames, registers })
  const gauge = (name: string, help: string, labelNames: ReadonlyArray<string> = []) =>
    new Gauge({ name: `meshnode_${name}`, help, labelNames, registers })
  return {
    received: counter("messages_received_total", "Messages received from peers, by type.", ["type"]),
    sent: counter("messages_sent_total", "Messages sent to peers, by type.", ["type"]),
    refused: counter("frames_refused_total", "Frames dropped, by reason.", ["reason"]),
    plain: counters.map(({ key, name, help }) => ({ key, metric: counter(name, help) })),
    opened: counter("connections_opened_total", "Connections opened, by direction.", ["direction"]),
    peers: gauge("peers", "Peers by state.", ["state"]),
    poolSize: gauge("pool_size", "Transactions in the pool."),
    uptime: gauge("uptime_seconds", "Seconds since the node started."),
    degraded: gauge("degraded", "1 while the node cannot write its pool (it keeps what it accepted and retries)."),
    propagation: registerHistogram({
      name: "meshnode_transaction_propagation_seconds",
      help: "From a transaction's timeStamp to its acceptance by this node: how long it took to get here.",
      buckets: latencyBuckets,
      registry,
    }),
    poolWrite: registerHistogram({
      name: "meshnode_pool_write_seconds",
      help: "How long one write of the pool file took (write, fsync, rename).",
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
      registry,
    }),
  }
}

/** Sets the metrics copied from a node's plain counters (all but the histograms) to what it reports now. */
const copyNodeCounters = (metrics: ReturnType<typeof registerNodeMetrics>, input: NodeMetricsInput): void => {
  const { received, sent, refused, plain, opened, peers, poolSize, uptime, degraded } = metrics
  const { status, framesRefused } = input
  for (const metric of [received, sent, refused, opened, peers, poolSize, uptime, degraded]) metric.reset()
  for (const { metric } of plain) metric.reset()
  for (const reason of refusalReasons) refused.inc({ reason: labelOf(reason) }, 0)
  for (const [type, value] of Object.entries(status.messagesReceived)) received.inc({ type }, value)
  for (const [type, value] of Object.entries(status.messagesSent)) sent.inc({ type }, value)
  for (const [reason, value] of Object.entries(framesRefused)) refused.inc({ reason: labelOf(reason) }, value)
  for (const { key, metric } of plain) metric.inc(status.counters[key] ?? 0)
  opened.inc({ direction: "inbound" }, status.counters.inboundConnections ?? 0)
  opened.inc({ direction: "outbound" }, status.counters.outboundConnections ?? 0)
  peers.set({ state: "connected" }, status.connected.length)
  peers.set({ state: "dialling" }, status.dialling.length)
  poolSize.set(status.pool.size)
  uptime.set(status.uptimeSeconds)
  degraded.set(status.degraded === true ? 1 : 0)
}

/** One node's metrics. The histograms are observed as things happen; the rest is set on each read. */
export const makeNodeMetrics = () => {
  processMetrics()
  const registry = new Registry()
  const metrics = registerNodeMetrics(registry)
  return {
    /** A transaction made at `timeStamp` was accepted at `acceptedAt` (both ms since the epoch). */
    observePropagation: (timeStamp: number, acceptedAt: number) =>
      metrics.propagation.observe(Math.max(0, acceptedAt - timeStamp) / 1000),
    observePoolWrite: (millis: number) => metrics.poolWrite.observe(Math.max(0, millis) / 1000),
    /** Copies the node's plain counters into the registry's metrics, then renders both registries. */
    render: async (input: NodeMetricsInput): Promise<string> => {
      copyNodeCounters(metrics, input)
      const [own, shared] = await Promise.all([registry.metrics(), processMetrics().metrics()])
      return `${own}\n${shared}`
    },
    contentType: registry.contentType,
  }
}

/** `GET /metrics` from the node's status (as `status` collects it), its histograms, and its process's metrics. */
export const collectMetrics = <E, R>(status: Effect.Effect<NodeStatus, E, R>) =>
  Effect.flatMap(status, (current) => Effect.flatMap(NodeStats, (stats) => stats.renderMetrics(current)))
