import { resolve } from "node:path"
import { parseArgs } from "node:util"
import { type ImplName, implNames } from "./processes.js"

export const scenarioNames = ["startup", "mesh", "latency", "frames", "ingest"] as const
export type ScenarioName = (typeof scenarioNames)[number]

export interface BenchConfig {
  readonly quick: boolean
  readonly runs: number
  readonly basePort: number
  readonly only: ReadonlySet<ScenarioName>
  /** --impl: which implementations run (all by default, plus ours@<ref> for each --compare-ref), table order. */
  readonly impls: ReadonlyArray<ImplName>
  /** --compare-ref: git refs of our node to build and run beside the working tree's. */
  readonly compareRefs: ReadonlyArray<string>
  readonly meshSizes: ReadonlyArray<number>
  /** Mesh formations timed per size and run, each on a fresh cluster (--mesh-samples). */
  readonly meshSamples: number
  readonly latencySizes: ReadonlyArray<number>
  readonly latencySamples: number
  /**
   * Transactions sent the same way before the timed ones, neither timed nor counted: each node's JIT
   * has compiled its hot path by then, as on a node that has run for a while.
   */
  readonly latencyWarmup: number
  readonly frameSizes: ReadonlyArray<number>
  readonly frameSamples: number
  readonly ingestCounts: ReadonlyArray<number>
  /** Longest wait for an ingest of `count` to reach every pool. */
  readonly ingestTimeoutMs: (count: number) => number
  /** --quick: the ingest runs on the N=3 mesh after the latency samples rather than on a cluster of its own. */
  readonly shareClusters: boolean
  /** How often pool files are stat-ed. */
  readonly pollMs: number
  /** LOG_LEVEL for our node (the baseline logs only connections). */
  readonly logLevel: string
  /** No new run starts if it would likely end after this (--budget). */
  readonly budgetMs: number
  /** --profile: every node runs with `node --cpu-prof`, profiles in bench/results/profiles. */
  readonly profileDir: string | undefined
}

export const usage = `Usage: npm run bench -- [options]

  --quick             smoke version (~30 s): N=3 only, 200 ingest, 20 latency samples, 1 run
  --runs K            runs per scenario, medians quoted (default 3; 1 with --quick)
  --budget S          start no further run that would likely end after S seconds (default 900)
  --base-port P       first port used (default 6000); the bench uses P+1 .. P+300
  --impl a,b          only these implementations: ours, baseline (or plain), durable (default: all)
  --compare-ref REF   also build git ref REF of our node (a temporary worktree) and run it as
                      ours@REF beside ours, for before/after in one run (repeatable)
  --only a,b          only these scenarios: ${scenarioNames.join(", ")} (ingest includes memory)
  --mesh-samples K    mesh formations timed per size and run, each on a fresh cluster (default 3;
                      1 with --quick): one formation is a single, noisy sample
  --ingest-timeout S  stop waiting for one ingest after S seconds (default 120 for 5,000,
                      45 for 20,000 so the suite fits in 10 minutes; 20 with --quick)
  --poll-ms M         how often pool files are stat-ed, in ms (default 2)
  --log-level L       LOG_LEVEL for our node (default warn: quiet, like the baseline)
  --profile           run every node with node --cpu-prof; profiles in bench/results/profiles
                      (summarise one with: npx tsx bench/profile-summary.ts <file.cpuprofile>)
  --help              this text
`

/** Parses the command line; throws with a message for the user on a bad option. */
export const parseConfig = (argv: ReadonlyArray<string>): BenchConfig | "help" => {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      quick: { type: "boolean", default: false },
      runs: { type: "string" },
      "base-port": { type: "string", default: "6000" },
      "mesh-samples": { type: "string" },
      only: { type: "string", multiple: true },
      impl: { type: "string", multiple: true },
      "compare-ref": { type: "string", multiple: true },
      "ingest-timeout": { type: "string" },
      "poll-ms": { type: "string", default: "2" },
      "log-level": { type: "string", default: "warn" },
      budget: { type: "string", default: "900" },
      profile: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
    strict: true,
    allowPositionals: false,
  })
  if (values.help) return "help"
  const quick = values.quick
  const runs = wholeNumber("--runs", values.runs ?? (quick ? "1" : "3"), 1, 50)
  const basePort = wholeNumber("--base-port", values["base-port"], 1024, 65_000)
  // The spec's ports are where everyone else tests: never touch them.
  if (basePort + 300 >= 4000 && basePort <= 4099) throw new Error("--base-port: the range must stay clear of 4000-4099")
  const only = new Set<ScenarioName>()
  for (const name of (values.only ?? []).flatMap((entry) => entry.split(","))) {
    const scenario = scenarioNames.find((candidate) => candidate === name.trim() || `${candidate}s` === name.trim())
    if (scenario === undefined) throw new Error(`--only: unknown scenario "${name}" (${scenarioNames.join(", ")})`)
    only.add(scenario)
  }
  if (only.size === 0) for (const name of scenarioNames) only.add(name)
  const impls = chooseImpls(values.impl ?? [], values["compare-ref"] ?? [])
  const timeoutFlag = values["ingest-timeout"]
  const ingestTimeout = timeoutFlag === undefined ? undefined : wholeNumber("--ingest-timeout", timeoutFlag, 1, 3600)
  return {
    quick,
    runs,
    basePort,
    only,
    impls,
    compareRefs: values["compare-ref"] ?? [],
    meshSizes: quick ? [3] : [3, 10, 20],
    meshSamples: wholeNumber("--mesh-samples", values["mesh-samples"] ?? (quick ? "1" : "3"), 1, 20),
    latencySizes: quick ? [3] : [3, 10],
    latencySamples: quick ? 20 : 200,
    latencyWarmup: quick ? 5 : 50,
    frameSizes: quick ? [3] : [3, 10],
    frameSamples: quick ? 10 : 30,
    ingestCounts: quick ? [200] : [5_000, 20_000],
    ingestTimeoutMs: (count) => 1000 * (ingestTimeout ?? (quick ? 20 : count > 5_000 ? 45 : 120)),
    shareClusters: quick,
    pollMs: wholeNumber("--poll-ms", values["poll-ms"], 1, 1000),
    logLevel: values["log-level"],
    budgetMs: 1000 * wholeNumber("--budget", values.budget, 1, 86_400),
    profileDir: values.profile ? resolve(import.meta.dirname, "../results/profiles") : undefined,
  }
}

/** The implementations to run, in the table's order: ours, ours@<ref>..., then the baselines. */
const chooseImpls = (wanted: ReadonlyArray<string>, refs: ReadonlyArray<string>): ReadonlyArray<ImplName> => {
  const names = new Set<string>()
  for (const name of wanted.flatMap((entry) => entry.split(",")).map((entry) => entry.trim())) {
    const impl = name === "plain" ? "baseline" : name
    if (!implNames.some((known) => known === impl)) {
      throw new Error(`--impl: "${name}" is not one of ours, baseline (or plain), durable`)
    }
    names.add(impl)
  }
  for (const ref of refs) {
    if (!/^[\w./~^@{}-]+$/.test(ref)) throw new Error(`--compare-ref: "${ref}" does not look like a git ref`)
  }
  const chosen = implNames.filter((impl) => names.size === 0 || names.has(impl))
  const [first, ...rest] = chosen
  const refImpls = refs.map((ref): ImplName => `ours@${ref}`)
  return first === "ours" ? [first, ...refImpls, ...rest] : [...refImpls, ...chosen]
}

/**
 * The scenarios and sizes `impl` runs. The durable baseline is the plain one with another pool write:
 * only what the write changes is measured for it (propagation, the 5,000 ingest and memory; start-up
 * comes with those clusters). Mesh formation and frame counts are the plain baseline's.
 */
export const configFor = (config: BenchConfig, impl: ImplName): BenchConfig => {
  if (impl !== "durable") return config
  const only = new Set([...config.only].filter((name) => name === "startup" || name === "latency" || name === "ingest"))
  return { ...config, only, ingestCounts: config.ingestCounts.filter((count) => count <= 5_000) }
}

const wholeNumber = (flag: string, text: string, min: number, max: number): number => {
  const value = Number(text)
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${flag} takes a whole number from ${min} to ${max}, not "${text}"`)
  }
  return value
}
