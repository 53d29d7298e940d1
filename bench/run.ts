import { mkdirSync, writeFileSync } from "node:fs"
import { cpus, loadavg } from "node:os"
import { join, resolve } from "node:path"
import { renderChart } from "./chart.js"
import { type BenchConfig, configFor, parseConfig, type ScenarioName, usage } from "./lib/config.js"
import { killAllNodes, registerRefBundle, removeWorkspace } from "./lib/processes.js"
import { buildRef, type RefBuild } from "./lib/refBuild.js"
import { Results } from "./lib/results.js"
import { now } from "./lib/time.js"
import { renderJson, renderTable } from "./report.js"
import type { ScenarioContext } from "./scenarios/context.js"
import { runFrames } from "./scenarios/frames.js"
import { runIngest } from "./scenarios/ingest.js"
import { runNetwork } from "./scenarios/network.js"

/**
 * `npm run bench`: runs every scenario against our node and the baselines (plain, and durable for what
 * the pool write changes), in the same run, on real processes over loopback; prints a Markdown table and writes bench/results/latest.json and
 * bench/chart.svg. Exits 1 if any implementation lost or duplicated a transaction or failed a scenario
 * (with --quick, also if anything timed out).
 */
const scenarios: ReadonlyArray<{
  readonly covers: ReadonlyArray<ScenarioName>
  readonly run: (context: ScenarioContext) => Promise<void>
  /** Counts, not timings: the same in every run, so measured in the first run only. */
  readonly once?: boolean
  /** Left out when --quick shares the N=3 cluster (the network scenario runs it). */
  readonly shared?: boolean
}> = [
  { covers: ["startup", "mesh", "latency"], run: runNetwork },
  { covers: ["frames"], run: runFrames, once: true },
  { covers: ["ingest"], run: runIngest, shared: true },
]

const benchRoot = resolve(import.meta.dirname)

const run = async (config: BenchConfig): Promise<number> => {
  const startedAt = new Date()
  const start = now()
  const results = new Results(config.impls)
  const log = (line: string) => process.stderr.write(`[${((now() - start) / 1000).toFixed(1)}s] ${line}\n`)
  log(
    `meshnode bench: ${config.runs} run(s), ports ${config.basePort + 1}-${config.basePort + 300}, load ${loadavg()[0]?.toFixed(1)}`,
  )
  let runsDone = 0
  for (let runIndex = 0; runIndex < config.runs; runIndex++) {
    const runStart = now()
    // A quarter's margin: runs on a busy machine vary that much.
    if (runIndex > 0 && runStart - start + (1.25 * (runStart - start)) / runIndex > config.budgetMs) {
      log(`stopping after ${runIndex} run(s): another would pass the ${config.budgetMs / 1000} s budget (--budget)`)
      break
    }
    // Alternate the order of the implementations, so none always runs on a warmer machine.
    const order = runIndex % 2 === 0 ? config.impls : [...config.impls].reverse()
    for (const scenario of scenarios) {
      if ((scenario.once && runIndex > 0) || (scenario.shared && config.shareClusters)) continue
      for (const impl of order) {
        const implConfig = configFor(config, impl)
        const names = scenario.covers.filter((name) => implConfig.only.has(name)).join("+")
        if (names === "") continue
        const prefix = `[run ${runIndex + 1}/${config.runs}] ${names} ${impl}:`
        await scenario.run({
          impl,
          config: implConfig,
          record: (spec, sample) => results.record(spec, impl, sample),
          log: (line) => log(`${prefix} ${line}`),
        })
      }
    }
    runsDone++
  }
  const seconds = (now() - start) / 1000
  const figures = results.all()
  const failures = results.failures(config.quick)
  mkdirSync(join(benchRoot, "results"), { recursive: true })
  const timing = { startedAt, seconds, runs: runsDone, loadAtEnd: loadavg()[0] ?? 0 }
  writeFileSync(join(benchRoot, "results/latest.json"), renderJson(figures, config.impls, config, timing, failures))
  // The chart is the full suite's: a smoke run or a partial run leaves the committed one alone.
  if (!config.quick && config.only.has("latency") && config.only.has("ingest")) {
    writeFileSync(join(benchRoot, "chart.svg"), renderChart(figures, config.impls))
  }
  process.stdout.write(`\n${renderTable(figures, config.impls)}\n\n`)
  process.stdout.write(
    `${runsDone} run(s) in ${seconds.toFixed(0)} s; medians quoted; load average ${timing.loadAtEnd.toFixed(1)} ` +
      `on ${cpus().length} cores at the end. JSON: bench/results/latest.json\n`,
  )
  if (failures.length > 0) {
    process.stdout.write(`\nFAILED (${failures.length}):\n${failures.map((failure) => `- ${failure}`).join("\n")}\n`)
    return 1
  }
  return 0
}

const main = async (): Promise<number> => {
  let config: BenchConfig | "help"
  try {
    config = parseConfig(process.argv.slice(2))
  } catch (error) {
    process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n\n${usage}`)
    return 2
  }
  if (config === "help") {
    process.stdout.write(usage)
    return 0
  }
  try {
    for (const ref of config.compareRefs) {
      const build = buildRef(ref, (line) => process.stderr.write(`bench: ${line}\n`))
      refBuilds.push(build)
      registerRefBundle(`ours@${ref}`, build.bundle)
    }
    return await run(config)
  } catch (error) {
    if (!(error instanceof Error && error.message.startsWith("--compare-ref"))) throw error
    process.stderr.write(`bench: ${error.message}\n`)
    return 2
  } finally {
    cleanUp()
  }
}

/** Builds of --compare-ref, removed with the nodes and the workspace on every way out. */
const refBuilds: Array<RefBuild> = []
const cleanUp = () => {
  killAllNodes()
  removeWorkspace()
  for (const build of refBuilds.splice(0)) build.remove()
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    cleanUp()
    process.exit(130)
  })
}
process.on("exit", killAllNodes)

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
    process.exit(1)
  },
)
