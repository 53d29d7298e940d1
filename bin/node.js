#!/usr/bin/env node
// `npm run node -- <folder>`: one node (src/main.ts), in this process.
import { runSource } from "./loadSource.js"

// Under npm a Ctrl-C arrives twice (from the terminal, and forwarded by npm); the first one already
// stops the node in order, so the second must not kill it before its pool is on disk.
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => {})

await runSource("src/main.ts")
