/** `tsx src/main.ts --help` */
export const usage = `Usage: tsx src/main.ts [NODE_FOLDER]

Runs one meshnode node from NODE_FOLDER (default: the current folder), which holds
  .env                PORT=4001 and MY_PUBLIC_KEY=<hex>
  known-peers.json    the addresses dialled at start, e.g. ["ws://localhost:4001","ws://localhost:4003"]
  transactions.json   the node's transaction pool (created as [] if missing)

Environment variables (they override .env):
  PORT         port of the WebSocket server (required)
  HOST         interface to listen on (default localhost)
  LOG_FORMAT   text (default) or json
  LOG_LEVEL    debug, info (default), warning or error
  REDIAL_BASE_DELAY_MS     first redial delay, doubling up to the cap (default 200)
  REDIAL_MAX_DELAY_MS      cap on the redial delay (default 5000)
  REDIAL_LEARNED_ATTEMPTS  failed dials before a learned address is given up (default 8)
  HEARTBEAT_TIMEOUT_MS     a peer silent to pings this long is dropped (default 10000)

Examples:
  npx tsx src/main.ts nodes/node-1
  cd nodes/node-2 && npx tsx ../../src/main.ts
  LOG_FORMAT=json npx tsx src/main.ts nodes/node-3
`
