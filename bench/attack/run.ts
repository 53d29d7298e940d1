import { appendFileSync } from "node:fs"
import { resolve } from "node:path"
import { parseArgs } from "node:util"
import { killAllNodes, removeWorkspace } from "../lib/processes.js"
import { now } from "../lib/time.js"
import { addressPoisoning, hugeTransactions, invalidFrames, noAttack, slotHog, syncAmplification } from "./attacks.js"
import { fullDisk, httpFlood } from "./http.js"
import { renderTable } from "./report.js"
import { type Attack, runScenario, type ScenarioResult } from "./scenario.js"
import { slowReaders } from "./slowReaders.js"

/**
 * `npm run attack`: one scenario per item of issue 20, each against a fresh network of 3 real nodes
 * on loopback (ports from --base-port (default 7600), 20 per scenario), the attacker on 127.0.0.2. Prints a Markdown
 * table with a pass/fail per target; `--only huge-tx,slots` runs some; `--readme` appends the table to
 * bench/README.md. Exits 1 if any target failed.
 */
const attacks: ReadonlyArray<Attack> = [
  noAttack,
  hugeTransactions,
  slowReaders,
  slotHog,
  addressPoisoning,
  syncAmplification,
  invalidFrames(0, "bad-frames", "5 invalid-frame floods"),
  httpFlood,
  fullDisk(invalidFrames(2, "full-disk", "7 a full disk under the log")),
]

const { values } = parseArgs({
  options: {
    only: { type: "string" },
    "base-port": { type: "string", default: "7600" },
    seconds: { type: "string", default: "30" },
    readme: { type: "boolean", default: false },
  },
})
const only = values.only === undefined ? undefined : new Set(values.only.split(","))
const unknown = [...(only ?? [])].filter((name) => !attacks.some((attack) => attack.name === name))
if (unknown.length > 0) {
  process.stderr.write(`unknown scenario ${unknown.join(", ")}: choose from ${attacks.map((a) => a.name).join(", ")}\n`)
  process.exit(2)
}
const basePort = Number(values["base-port"])
const durationMs = Number(values.seconds) * 1000
const start = now()
const log = (line: string) => process.stderr.write(`[${((now() - start) / 1000).toFixed(1)}s] ${line}\n`)

const results: Array<ScenarioResult> = []
process.on("SIGINT", () => {
  killAllNodes()
  process.exit(130)
})
try {
  for (const [index, attack] of attacks.entries()) {
    if (only !== undefined && !only.has(attack.name)) continue
    log(
      `${attack.name} (${attack.why}): ${durationMs / 1000} s on ports ${basePort + index * 20 + 1}-${basePort + index * 20 + 9}`,
    )
    const result = await runScenario(attack, basePort + index * 20, durationMs, log)
    log(`${attack.name}: ${result.attacker}`)
    results.push(result)
  }
} finally {
  killAllNodes()
  removeWorkspace()
}
const { table, failed } = renderTable(results, durationMs)
process.stdout.write(`${table}\n`)
if (values.readme) appendFileSync(resolve(import.meta.dirname, "../README.md"), `\n${table}\n`)
process.exit(failed ? 1 : 0)
