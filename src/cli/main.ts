import { NodeRuntime } from "@effect/platform-node"
import { exitCodeOf, runCli } from "./app.js"

/** `meshnode`: the CLI's entry point (bin/meshnode.js and the npm scripts run it). */
runCli(process.argv).pipe(
  NodeRuntime.runMain({ disableErrorReporting: true, teardown: (exit, onExit) => onExit(exitCodeOf(exit)) }),
)
