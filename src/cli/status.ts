import { Command, Options } from "@effect/cli"
import { Array as Arr, Clock, Console, Effect, Option } from "effect"
import { localAddress } from "../domain/Address.js"
import type { NodeStatus } from "../domain/NodeStatus.js"
import { assessMesh, describeMesh, type NodeView } from "./meshHealth.js"
import { type NodeFolder, nodesDirectory, readNodeFolders } from "./nodeFolders.js"
import { dim, ExitCode, green, red, summary } from "./output.js"
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

const json = Options.boolean("json").pipe(Options.withDescription("print the statuses as JSON instead"))

const viewOf = (row: Row): NodeView =>
  Option.match(row.status, {
    onNone: () => ({ address: row.address, connected: undefined }),
    onSome: (s) => ({ address: row.address, connected: s.connected, poolDigest: s.pool.digest, poolSize: s.pool.size }),
  })

/** A script can wait on `status`: it exits 0 only when every node is up and meshed and the pools agree. */
const unhealthy = new ExitCode({ code: 1, message: "" })

export const statusCommand = Command.make("status", { json }, (options) =>
  Effect.gen(function* () {
    const directory = yield* nodesDirectory
    const folders = yield* readNodeFolders(directory)
    const [unreadable, readable] = [Arr.getLefts(folders), Arr.getRights(folders)]
    const rows: ReadonlyArray<Row> = yield* Effect.forEach(
      readable,
      (node) => Effect.map(fetchStatus(node.port), (status) => ({ node, address: localAddress(node.port), status })),
      { concurrency: "unbounded" },
    )
    const views = rows.map(viewOf)
    const health = assessMesh(views)
    const healthy = health.healthy && unreadable.length === 0
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
      const entries = [
        ...rows.map((row) => ({
          name: row.node.name,
          address: row.address,
          state: Option.isSome(row.status) ? "up" : "down",
          status: Option.getOrNull(row.status),
          peers: peers.find((entry) => entry.name === row.node.name)?.report?.peers ?? null,
        })),
        ...unreadable.map((folder) => ({ name: folder.name, state: "unreadable", problem: folder.message })),
      ]
      yield* Console.log(JSON.stringify(entries, null, 2))
      return healthy ? undefined : yield* unhealthy
    }
    if (folders.length === 0) return yield* new ExitCode({ code: 1, message: `no node folders in ${directory}` })
    yield* Console.log(
      [
        `meshnode status: ${folders.length} node folder(s) in ${directory}`,
        "",
        dim("mesh (✓ where the row's node is connected to the column's)"),
        ...renderMatrix(rows),
        "",
        ...renderTable(rows),
        ...unreadable.map((folder) => `  ${folder.name}  ${red("unreadable")}: ${folder.message}`),
        "",
        ...renderPeers(peers, yield* Clock.currentTimeMillis),
        "",
      ].join("\n"),
    )
    const unreadableNote = unreadable.length === 0 ? "" : `, ${unreadable.length} folder(s) unreadable`
    const verdict = healthy ? "" : "NOT HEALTHY: "
    yield* summary(`${verdict}${describeMesh(health, views)}${unreadableNote}`)
    if (!healthy) return yield* unhealthy
  }),
).pipe(
  Command.withDescription(
    "Shows who is connected to whom, each pool's size and digest, and whether the pools agree; exits 0 only " +
      "when every node is up, every pair of nodes connected and the pools agree (a script can wait on it).",
  ),
)
