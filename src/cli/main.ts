import { NodeRuntime } from "@effect/platform-node"
import { exitCodeOf, runCli } from "./app.js"

// Under `npm start` a Ctrl-C arrives twice (from the terminal, and forwarded by npm); the first one
// already stops every node in order, so the second must not kill this process halfway through.
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => {})

/** `meshnode`: the CLI's entry point (bin/meshnode.js and the npm scripts run it). */
runCli(process.argv).pipe(
  NodeRuntime.runMain({ disableErrorReporting: true, teardown: (exit, onExit) => onExit(exitCodeOf(exit)) }),
)
