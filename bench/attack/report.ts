import type { HonestProbes, ScenarioResult } from "./scenario.js"

/** Each target of issue 20 and whether a scenario met it. */
const targets: ReadonlyArray<readonly [name: string, met: (r: ScenarioResult) => boolean]> = [
  ["alive", (r) => r.alive && r.exits.length === 0],
  ["RSS<512MB", (r) => r.peakRssMb < 512],
  [
    "honest<=1s",
    (r) => r.during.missed === 0 && r.during.worstMs <= 1_000 && r.after.missed === 0 && r.after.worstMs <= 1_000,
  ],
  ["log<1MB/min", (r) => r.logBytesPerMinute === undefined || r.logBytesPerMinute < 1024 * 1024],
  ["mesh<=5s", (r) => r.meshMs !== undefined && r.meshMs <= 5_000],
  ["nothing lost", (r) => r.lost === 0],
]

const ms = ({ worstMs, missed, stored, count }: HonestProbes) =>
  `${Math.round(worstMs)} ms${missed > 0 ? ` (${missed}/${count} not seen${stored > 0 ? `, ${stored} of them in every pool at the end` : ""})` : ""}`

/** The results as a Markdown table, with a pass/fail per target; `failed` if any target was missed. */
export const renderTable = (results: ReadonlyArray<ScenarioResult>, durationMs: number) => {
  const header = [
    "scenario",
    "alive",
    "RSS peak / after",
    "pool file",
    "honest latency during / after (worst)",
    "log lines / bytes (rate)",
    "mesh after restart",
    "lost",
    "failed targets",
  ]
  const rows = results.map((r) => {
    const missed = targets.filter(([, met]) => !met(r)).map(([name]) => name)
    return [
      `${r.name} (${r.why})`,
      r.alive ? "yes" : `no${r.exits.length > 0 ? `: ${r.exits.join("; ")}` : ""}`,
      `${r.peakRssMb.toFixed(0)} / ${r.afterRssMb.toFixed(0)} MB`,
      `${r.poolMb.toFixed(1)} MB`,
      `${ms(r.during)} / ${ms(r.after)}`,
      `${r.logLines} / ${(r.logBytes / 1024).toFixed(0)} kB (${r.logBytesPerMinute === undefined ? "n/a: /dev/full" : `${(r.logBytesPerMinute / 1024).toFixed(0)} kB/min`})`,
      r.meshMs === undefined ? "not in 15 s" : `${(r.meshMs / 1000).toFixed(1)} s`,
      String(r.lost),
      missed.length === 0 ? "none: pass" : missed.join(", "),
    ]
  })
  const line = (cells: ReadonlyArray<string>) => `| ${cells.join(" | ")} |`
  const attackers = results.map((r) => `- ${r.name}: ${r.attacker}`)
  const table = [
    `Attack suite, ${durationMs / 1000} s per scenario, ${new Date().toISOString().slice(0, 16)} UTC:`,
    "",
    line(header),
    line(header.map(() => "---")),
    ...rows.map(line),
    "",
    "What each attacker did and saw:",
    "",
    ...attackers,
  ].join("\n")
  return { table, failed: results.some((r) => targets.some(([, met]) => !met(r))) }
}
