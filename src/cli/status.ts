import { Command, Options } from "@effect/cli"
import { Clock, Console, Effect, Option } from "effect"
import { localAddress } from "../domain/Address.js"
import type { NodeStatus } from "../domain/NodeStatus.js"
import { type NodeFolder, nodesDirectory, readNodeFolders } from "./nodeFolders.js"
import { dim, green, red, summary } from "./output.js"
import { fetchPeers, renderPeers } from "./peersView.js"
import { fetchStatus } from "./statusClient.js"

interface Row {
  readonly node: NodeFolder
  readonly address: string
  readonly status: Option.Option<NodeStatus>
}

const pad = (text: string, width: number, visible = text.length) => text + " ".repeat(Math.max(0, width - visible))

/** Who is connected to whom: one row per node, ✓ where the row's node is connected to the column's. */
const renderMatrix = (rows: ReadonlyArray<Row>): Array<string> => {
  const width = Math.max(6, ...rows.map((row) => row.node.name.length)) + 2
  const lines = [`  ${pad("", width)}${rows.map((row) => pad(row.node.name, width)).join("")}`.trimEnd()]
  for (const row of rows) {
    const cells = rows.map((column) => {
      if (Option.isNone(row.status)) return pad(dim("?"), width, 1)
      if (column === row) return pad(dim("·"), width, 1)
      if (row.status.value.connected.includes(column.address)) return pad(green("✓"), width, 1)
      if (row.status.value.dialling.includes(column.address)) return pad("…", width)
      return pad(red("✗"), width, 1)
    })
    const line = `  ${pad(row.node.name, width)}${cells.join("")}${Option.isNone(row.status) ? red("down") : ""}`
    lines.push(line.trimEnd())
  }
  return lines
}

const renderTable = (rows: ReadonlyArray<Row>): Array<string> => {
  const header = ["node", "address", "state", "peers", "pool", "digest", "uptime"]
  const cells = rows.map((row) =>
    Option.match(row.status, {
      onNone: () => [row.node.name, row.address, "down", "-", "-", "-", "-"],
      onSome: (s) => [
        row.node.name,
        row.address,
        "up",
        String(s.connected.length),
        String(s.pool.size),
        s.pool.digest.slice(0, 8),
        `${Math.round(s.uptimeSeconds)}s`,
      ],
    }),
  )
  const widths = header.map((title, i) => Math.max(title.length, ...cells.map((row) => (row[i] ?? "").length)) + 2)
  const line = (values: ReadonlyArray<string>, colour = false) =>
    `  ${values
      .map((value, i) => {
        const shown = colour && i === 2 ? (value === "up" ? green(value) : red(value)) : value
        return pad(shown, widths[i] ?? 0, value.length)
      })
      .join("")
      .trimEnd()}`
  return [dim(line(header)), ...cells.map((values) => line(values, true))]
}

const describePools = (up: ReadonlyArray<NodeStatus>): string => {
  if (up.length === 0) return "no pool to compare"
  const digests = new Set(up.map((s) => s.pool.digest))
  if (digests.size === 1) return `pools agree (${up[0]?.pool.size ?? 0} transactions)`
  return `pools DIFFER (sizes ${up.map((s) => s.pool.size).join(", ")})`
}

const json = Options.boolean("json").pipe(Options.withDescription("print the statuses as JSON instead"))

export const statusCommand = Command.make("status", { json }, (options) =>
  Effect.gen(function* () {
    const directory = yield* nodesDirectory
    const folders = yield* readNodeFolders(directory)
    const rows: ReadonlyArray<Row> = yield* Effect.forEach(
      folders,
      (node) => Effect.map(fetchStatus(node.port), (status) => ({ node, address: localAddress(node.port), status })),
      { concurrency: "unbounded" },
    )
    const up = rows.flatMap((row) => Option.toArray(row.status))
    const peers = yield* Effect.forEach(
      rows,
      (row) =>
        Option.isNone(row.status)
          ? Effect.succeed({ name: row.node.name, report: undefined })
          : Effect.map(fetchPeers(row.node.port), (report) => ({
              name: row.node.name,
              report: Option.getOrUndefined(report),
            })),
      { concurrency: "unbounded" },
    )
    if (options.json) {
      const entries = rows.map((row) => ({
        name: row.node.name,
        address: row.address,
        state: Option.isSome(row.status) ? "up" : "down",
        status: Option.getOrNull(row.status),
        peers: peers.find((entry) => entry.name === row.node.name)?.report?.peers ?? null,
      }))
      return yield* Console.log(JSON.stringify(entries, null, 2))
    }
    if (rows.length === 0) return yield* summary(`no node folders in ${directory}`)
    const connections = up.reduce(
      (sum, s) => sum + s.connected.filter((a) => rows.some((r) => r.address === a)).length,
      0,
    )
    yield* Console.log(
      [
        `meshnode status: ${rows.length} node folder(s) in ${directory}`,
        "",
        dim("mesh (✓ where the row's node is connected to the column's)"),
        ...renderMatrix(rows),
        "",
        ...renderTable(rows),
        "",
        ...renderPeers(peers, yield* Clock.currentTimeMillis),
        "",
      ].join("\n"),
    )
    yield* summary(
      `${up.length} of ${rows.length} nodes up, ${connections} of ${up.length * (up.length - 1)} connections between them, ${describePools(up)}`,
    )
  }),
).pipe(
  Command.withDescription(
    "Shows who is connected to whom, each pool's size and digest, and whether the pools agree; down nodes as down.",
  ),
)
