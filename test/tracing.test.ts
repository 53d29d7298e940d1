import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { getStatus, runCli } from "./support/cli.js"
import {
  eventually,
  type LogLine,
  makeNodesDir,
  type NodeProcess,
  startNodeProcess,
  waitListening,
  writeNodeFolder,
} from "./support/processes.js"

/** One span as the OTLP/HTTP JSON export carries it, with its resource's service instance. */
interface ExportedSpan {
  readonly instance: string
  readonly traceId: string
  readonly spanId: string
  readonly parentSpanId?: string
  readonly name: string
  readonly attributes: Record<string, unknown>
}

interface OtlpAttribute {
  readonly key: string
  readonly value: { readonly stringValue?: string; readonly intValue?: string | number; readonly boolValue?: boolean }
}
interface OtlpExport {
  readonly resourceSpans: ReadonlyArray<{
    readonly resource: { readonly attributes: ReadonlyArray<OtlpAttribute> }
    readonly scopeSpans: ReadonlyArray<{
      readonly spans: ReadonlyArray<
        Omit<ExportedSpan, "instance" | "attributes"> & {
          readonly attributes: ReadonlyArray<OtlpAttribute>
        }
      >
    }>
  }>
}

const attributesOf = (list: ReadonlyArray<OtlpAttribute>): Record<string, unknown> =>
  Object.fromEntries(list.map(({ key, value }) => [key, value.stringValue ?? value.intValue ?? value.boolValue]))

/** A local OTLP/HTTP receiver: what a collector, Jaeger or Tempo would be sent. */
const startReceiver = () =>
  new Promise<{ server: Server; port: number; spans: Array<ExportedSpan>; paths: Array<string> }>((resolve) => {
    const spans: Array<ExportedSpan> = []
    const paths: Array<string> = []
    const server = createServer((request, response) => {
      let body = ""
      request.on("data", (chunk: Buffer) => {
        body += chunk.toString()
      })
      request.on("end", () => {
        paths.push(`${request.method} ${request.url} ${request.headers["content-type"]}`)
        const data = JSON.parse(body) as OtlpExport
        for (const resourceSpan of data.resourceSpans) {
          const instance = String(attributesOf(resourceSpan.resource.attributes)["service.instance.id"])
          for (const scope of resourceSpan.scopeSpans) {
            for (const span of scope.spans) spans.push({ ...span, instance, attributes: attributesOf(span.attributes) })
          }
        }
        response.writeHead(200, { "content-type": "application/json" }).end("{}")
      })
    })
    server.listen(0, "127.0.0.1", () => resolve({ server, port: (server.address() as AddressInfo).port, spans, paths }))
  })

// Fixed ports from this suite's range (7300-7399).
const ports = [7330, 7331, 7332] as const
const addresses = ports.map((port) => `ws://localhost:${port}`)

describe("tracing over OTLP/HTTP", () => {
  let receiver: Awaited<ReturnType<typeof startReceiver>>
  let nodes: Array<NodeProcess> = []
  let nodesDir = ""
  let otelEnv: Record<string, string> = {}

  beforeAll(async () => {
    receiver = await startReceiver()
    otelEnv = { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${receiver.port}`, OTEL_BSP_SCHEDULE_DELAY: "200" }
    nodesDir = await makeNodesDir()
    const knownPeers = [addresses[0] ?? "", addresses[2] ?? ""]
    const folders = await Promise.all(
      ports.map((port, i) => writeNodeFolder(nodesDir, `node-${i + 1}`, { port, knownPeers })),
    )
    nodes = folders.map((folder) => startNodeProcess(folder, otelEnv))
    await Promise.all(nodes.map((node) => waitListening(node, 60_000)))
    await eventually(
      async () => {
        const statuses = await Promise.all(ports.map(getStatus))
        return statuses.every((status) => status?.connected.length === 2) ? true : undefined
      },
      60_000,
      "a full mesh",
    )
  }, 120_000)

  afterAll(async () => {
    await Promise.all(nodes.map((node) => node.stop()))
    receiver?.server.close()
  })

  it("one transaction's spans on three nodes share one trace, started by add-transaction", async () => {
    const sent = await runCli(["add-transaction", join(nodesDir, "node-1")], { NODES_DIR: nodesDir, ...otelEnv })
    expect(sent.code).toBe(0)
    const hash = (JSON.parse(sent.stdout.slice(0, sent.stdout.lastIndexOf("}") + 1)) as { hash: string }).hash

    const handled = await eventually(
      () => {
        const spans = receiver.spans.filter(
          (span) => span.name === "Gossip.transaction" && span.attributes.hash === hash,
        )
        const instances = new Set(spans.map((span) => span.instance))
        return addresses.every((address) => instances.has(address)) ? spans : undefined
      },
      30_000,
      "Gossip.transaction spans from all three nodes",
    )
    // The CLI's span comes in its own export, which may land after the nodes' spans: waited for too.
    const root = await eventually(
      () => receiver.spans.find((span) => span.name === "AddTransaction.send" && span.attributes.hash === hash),
      30_000,
      "the CLI's AddTransaction.send span",
    )
    expect(root?.instance).toBe("meshnode-cli")
    expect(new Set(handled.map((span) => span.traceId))).toEqual(new Set([root?.traceId]))
    // node-1 continues the CLI's span; the others continue the span of whichever node told them first.
    const atFirst = handled.filter((span) => span.instance === addresses[0])
    expect(atFirst.map((span) => span.parentSpanId)).toContain(root?.spanId)
    const spanIds = new Set<string | undefined>([root.spanId, ...handled.map((span) => span.spanId)])
    for (const span of handled) expect(spanIds.has(span.parentSpanId)).toBe(true)
    // The span of the connection the transaction came in on names the peer.
    expect(atFirst.some((span) => typeof span.attributes.remote === "string")).toBe(true)
    expect(receiver.paths.every((path) => path.startsWith("POST /v1/traces application/json"))).toBe(true)

    // Each node's log line for it carries the ids of that node's span: logs and traces join on them.
    for (const [i, node] of nodes.entries()) {
      const line = node.lines.find(
        (entry) => entry.message === "transaction accepted" && entry.annotations.hash === hash,
      ) as (LogLine & { trace_id?: string; span_id?: string }) | undefined
      const span = handled.find((entry) => entry.instance === addresses[i])
      expect(line?.trace_id, `node-${i + 1}`).toBe(root?.traceId)
      expect(line?.span_id, `node-${i + 1}`).toBe(span?.spanId)
    }
  })

  it("dial, handshake and connection spans carry the peer's address; connection spans end at shutdown", async () => {
    const dials = receiver.spans.filter((span) => span.name === "Node.dial")
    expect(dials.length).toBeGreaterThanOrEqual(3)
    for (const span of dials) expect(addresses).toContain(span.attributes.peer)
    expect(
      receiver.spans.some((span) => span.name === "Handshake.send" && addresses.includes(String(span.attributes.peer))),
    ).toBe(true)
    expect(receiver.spans.some((span) => span.name === "Handshake.receive")).toBe(true)

    await Promise.all(nodes.map((node) => node.stop()))
    // Stopping flushes what is left: the connections' lifetime spans, which end only now.
    // One per pair at least: two of our nodes share one connection when only one of them dialled.
    const outbound = receiver.spans.filter((span) => span.name === "Node.outbound")
    expect(outbound.length).toBeGreaterThanOrEqual(3)
    for (const span of outbound) expect(addresses).toContain(span.attributes.peer)
    expect(receiver.spans.some((span) => span.name === "Node.inbound")).toBe(true)
  })
})
