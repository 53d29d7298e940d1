#!/usr/bin/env node
// `meshnode`: the CLI (src/cli/main.ts); npm start and the other npm scripts run it too.
import { runSource } from "./loadSource.js"

await runSource("src/cli/main.ts")
