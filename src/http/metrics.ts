import type { NodeStatus } from "../domain/NodeStatus.js"

interface Metric {
  readonly name: string
  readonly help: string
  readonly type: "counter" | "gauge"
  readonly samples: ReadonlyArray<{ readonly labels?: Readonly<Record<string, string>>; readonly value: number }>
}

const counters: ReadonlyArray<{ readonly key: string; readonly name: string; readonly help: string }> = [
  { key: "framesRefused", name: "frames_refused_total", help: "Frames dropped as binary, not JSON or invalid." },
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
]

const escapeLabel = (value: string): string =>
  value.replaceAll("\\", "\\\\").replaceAll("\n", "\\n").replaceAll('"', '\\"')

const renderLabels = (labels: Readonly<Record<string, string>> | undefined): string => {
  const entries = Object.entries(labels ?? {})
  return entries.length === 0 ? "" : `{${entries.map(([key, value]) => `${key}="${escapeLabel(value)}"`).join(",")}}`
}

const byType = (counts: Readonly<Record<string, number>>) =>
  Object.entries(counts).map(([type, value]) => ({ labels: { type }, value }))

/** The status's counters and gauges in the Prometheus text exposition format (version 0.0.4). */
export const renderMetrics = (status: NodeStatus): string => {
  const metrics: Array<Metric> = [
    {
      name: "messages_received_total",
      help: "Messages received from peers, by type.",
      type: "counter",
      samples: byType(status.messagesReceived),
    },
    {
      name: "messages_sent_total",
      help: "Messages sent to peers, by type.",
      type: "counter",
      samples: byType(status.messagesSent),
    },
    ...counters.map(
      ({ key, name, help }): Metric => ({
        name,
        help,
        type: "counter",
        samples: [{ value: status.counters[key] ?? 0 }],
      }),
    ),
    {
      name: "connections_opened_total",
      help: "Connections opened, by direction.",
      type: "counter",
      samples: [
        { labels: { direction: "inbound" }, value: status.counters.inboundConnections ?? 0 },
        { labels: { direction: "outbound" }, value: status.counters.outboundConnections ?? 0 },
      ],
    },
    {
      name: "peers",
      help: "Peers by state.",
      type: "gauge",
      samples: [
        { labels: { state: "connected" }, value: status.connected.length },
        { labels: { state: "dialling" }, value: status.dialling.length },
      ],
    },
    {
      name: "degraded",
      help: "1 while the pool cannot be written.",
      type: "gauge",
      samples: [{ value: status.degraded ? 1 : 0 }],
    },
    { name: "pool_size", help: "Transactions in the pool.", type: "gauge", samples: [{ value: status.pool.size }] },
    {
      name: "uptime_seconds",
      help: "Seconds since the node started.",
      type: "gauge",
      samples: [{ value: status.uptimeSeconds }],
    },
  ]
  const lines: Array<string> = []
  for (const metric of metrics) {
    const name = `meshnode_${metric.name}`
    lines.push(`# HELP ${name} ${metric.help}`, `# TYPE ${name} ${metric.type}`)
    for (const sample of metric.samples) lines.push(`${name}${renderLabels(sample.labels)} ${sample.value}`)
  }
  return `${lines.join("\n")}\n`
}
