import { Record } from "effect"
import packageJson from "../package.json" with { type: "json" }
import { defaultDoorLimits, doorLimitVariables } from "./services/Admission.js"
import { defaultLimits, limitVariables } from "./services/Limits.js"

/** meshnode's version, as package.json says: `--version` prints it. */
export const version: string = packageJson.version

/**
 * Everything a node reads from its environment. This is the one list: `tsx src/main.ts --help`
 * and `meshnode node --help` both print it, so a new variable is added here, one entry a line.
 */
export const environmentVariables: ReadonlyArray<readonly [name: string, description: string]> = [
  ["PORT", "port of the node's WebSocket and HTTP server (required)"],
  ["HOST", "interface to listen on (default localhost; 0.0.0.0 for every interface)"],
  ["ADVERTISED_ADDRESS", "ws://host:port that other hosts dial, sent in the HANDSHAKE (default ws://localhost:PORT)"],
  ["MAX_PEERS", "keep at most this many peer connections instead of a full mesh (default: no limit)"],
  ["GOSSIP_MODE", "pruned (default: skip peers the sender already reaches) or flood (every peer)"],
  ["PEERS_ANNOUNCE_DELAY_MS", "pause before telling peers we lost a peer; new peers wait 4 of them (default 250)"],
  ["SHARE_CONNECTIONS", "false: connect both ways to nodes of ours too, as spec nodes do (default true: one per pair)"],
  ["MY_PUBLIC_KEY", "toAddress of the transactions add-transaction makes for this node"],
  ["LOG_FORMAT", "text (default) or json"],
  ["LOG_LEVEL", "trace, debug, info (default), warning, error or none"],
  ["REDIAL_BASE_DELAY_MS", "first redial delay, doubling up to the cap (default 200)"],
  ["REDIAL_MAX_DELAY_MS", "cap on the redial delay (default 5000)"],
  ["REDIAL_LEARNED_ATTEMPTS", "failed dials before a learned address is given up (default 8)"],
  [
    "REDIAL_GIVEN_UP_REST_MS",
    "how long an address given up for not answering is not dialled, even if listed (default 60000)",
  ],
  ["HEARTBEAT_TIMEOUT_MS", "a peer silent to pings this long is dropped (default 10000)"],
  ["SYNC_INTERVAL_MS", "how often, on average, the pool is compared with a random peer's (default 10000)"],
  ["POOL_FSYNC", "false: pool writes skip fsync (faster; safe if the node crashes, not the machine) (default true)"],
  ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTLP/HTTP base URL (e.g. http://localhost:4318): export spans to <url>/v1/traces"],
  ["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "full OTLP/HTTP traces URL (takes precedence over the above)"],
  ["OTEL_SERVICE_NAME", "service name shown by the tracing backend (default meshnode)"],
  ["OTEL_BSP_SCHEDULE_DELAY", "milliseconds between span exports (default 5000)"],
  // The limits on what peers may send (docs/limits.md says what happens past each).
  ...Record.collect(
    limitVariables,
    (key, [name, description]) => [name, `${description} (default ${defaultLimits[key]})`] as const,
  ),
  // Per-IP limits at the door and on plain HTTP (docs/limits.md, "Per IP").
  ...Record.collect(
    doorLimitVariables,
    (key, [name, description]) => [name, `${description} (default ${defaultDoorLimits[key]})`] as const,
  ),
]

/** What a node answers on its port besides the WebSocket protocol. */
const httpEndpoints: ReadonlyArray<readonly [path: string, description: string]> = [
  ["GET /", "the network dashboard (live graph, pool sizes, recent transactions)"],
  ["GET /status", "JSON: address, connected and dialling peers, pool size and digest, uptime, counters"],
  ["GET /metrics", "the same counters in Prometheus text format"],
  ["GET /tx/<hash>", "JSON: one transaction of the pool (404 if it holds none with that hash)"],
]

const table = (rows: ReadonlyArray<readonly [string, string]>): string => {
  const width = Math.max(...rows.map(([name]) => name.length)) + 2
  return rows.map(([name, description]) => `  ${name.padEnd(width)}${description}`).join("\n")
}

/** The node's folder layout, environment and endpoints, shared by every help text about a node. */
export const nodeDetails = `NODE_FOLDER (default: the current folder) holds
  .env                PORT=4001 and MY_PUBLIC_KEY=<hex>
  known-peers.json    the addresses dialled at start, e.g. ["ws://localhost:4001","ws://localhost:4003"]
  transactions.json   the node's transaction pool (created as [] if missing)

Environment variables (they override .env):
${table(environmentVariables)}

HTTP on the node's port:
${table(httpEndpoints)}`

/** `tsx src/main.ts --help` (and `node dist/main.mjs --help`, the same code bundled) */
export const usage = `Usage: tsx src/main.ts [NODE_FOLDER] [--port N] [--host H]
   or: node dist/main.mjs [NODE_FOLDER] [--port N] [--host H]   (after npm run build: faster to start)
       tsx src/main.ts --help | --version

Runs one meshnode node.

Options (they override .env and the environment):
  --port N    the port to listen on (PORT)
  --host H    the interface to listen on (HOST), e.g. 0.0.0.0 for every interface

${nodeDetails}

Examples:
  npx tsx src/main.ts nodes/node-1
  npx tsx src/main.ts nodes/node-2 --port 5002
  cd nodes/node-2 && npx tsx ../../src/main.ts
  LOG_FORMAT=json npx tsx src/main.ts nodes/node-3
  node dist/main.mjs nodes/node-1
  npx meshnode node nodes/node-1
`
