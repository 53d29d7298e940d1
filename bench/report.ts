import { cpus } from "node:os"
import type { BenchConfig } from "./lib/config.js"
import { type Figure, type FigureSummary, problemLines, summarize } from "./lib/results.js"

const formatValue = (value: number | undefined, unit: string): string => {
  if (value === undefined || Number.isNaN(value)) return "n/a"
  if (unit === "tx/s" || unit === "tx" || unit === "reads") return Math.round(value).toLocaleString("en-US")
  return value >= 100 ? value.toFixed(0) : value.toFixed(1)
}

/** "3.2× better" / "1.4× worse" / "same", reading `better` the right way round. */
const verdict = (figure: Figure, summary: FigureSummary): string => {
  const { ours, baseline } = summary
  if (ours === undefined || baseline === undefined) return ""
  if (ours === baseline) return "same"
  if (ours === 0 || baseline === 0) return (figure.better === "lower") === ours < baseline ? "better" : "worse"
  const factor = figure.better === "lower" ? baseline / ours : ours / baseline
  if (Math.abs(factor - 1) < 0.03) return "same"
  return factor > 1 ? `${factor.toFixed(1)}× better` : `${(1 / factor).toFixed(1)}× worse`
}

const cell = (figure: Figure, summary: FigureSummary, impl: "ours" | "baseline"): string => {
  const value = formatValue(summary[impl], figure.unit)
  const problems = summary.problems[impl]
  if (problems.length === 0) return value
  const kinds = [...new Set(problems.map((problem) => problem.kind.toUpperCase()))].join("+")
  return `${value} (${kinds} in ${problems.length}/${figure.samples[impl].length})`
}

/** The results as a Markdown table (scenario, ours, baseline, ratio), then the problems seen. */
export const renderTable = (figures: ReadonlyArray<Figure>): string => {
  const lines = ["| scenario | ours | baseline | ratio ours/baseline | |", "|---|---:|---:|---:|---|"]
  for (const figure of figures) {
    const summary = summarize(figure)
    const ratio = summary.ratio === undefined ? "" : summary.ratio.toFixed(summary.ratio < 0.1 ? 3 : 2)
    lines.push(
      `| ${figure.label} | ${cell(figure, summary, "ours")} | ${cell(figure, summary, "baseline")} | ${ratio} | ${verdict(figure, summary)} |`,
    )
  }
  const notes = problemLines(figures).map((line) => `- ${line}`)
  return [...lines, ...(notes.length > 0 ? ["", "Problems:", ...notes] : [])].join("\n")
}

export const renderJson = (
  figures: ReadonlyArray<Figure>,
  config: BenchConfig,
  timing: { readonly startedAt: Date; readonly seconds: number; readonly runs: number; readonly loadAtEnd: number },
  failures: ReadonlyArray<string>,
): string =>
  JSON.stringify(
    {
      startedAt: timing.startedAt.toISOString(),
      durationSeconds: Math.round(timing.seconds),
      runs: timing.runs,
      machine: {
        node: process.version,
        cpus: cpus().length,
        cpu: cpus()[0]?.model ?? "unknown",
        loadAverageAtEnd: timing.loadAtEnd,
      },
      config: {
        ...config,
        only: [...config.only],
        impls: [...config.impls],
        ingestTimeoutsMs: config.ingestCounts.map((count) => config.ingestTimeoutMs(count)),
      },
      figures: figures.map((figure) => {
        const summary = summarize(figure)
        return {
          id: figure.id,
          label: figure.label,
          unit: figure.unit,
          better: figure.better,
          ours: { median: summary.ours, runs: figure.samples.ours },
          baseline: { median: summary.baseline, runs: figure.samples.baseline },
          ratio: summary.ratio,
        }
      }),
      failures,
    },
    null,
    2,
  )

const colours = { ours: "#2b6cb0", baseline: "#dd6b20" } as const

interface Group {
  readonly label: string
  readonly ours: number | undefined
  readonly baseline: number | undefined
  readonly incomplete: { readonly ours: boolean; readonly baseline: boolean }
}

const escapeXml = (text: string): string =>
  text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;")

/** One bar panel: groups of two bars (ours, baseline) on a linear axis from 0, values written above. */
const panel = (x: number, title: string, unit: string, groups: ReadonlyArray<Group>): string => {
  const width = 340
  const height = 200
  const top = 50
  const max = Math.max(1, ...groups.flatMap((group) => [group.ours ?? 0, group.baseline ?? 0])) * 1.15
  const slot = width / Math.max(1, groups.length)
  const bar = Math.min(48, slot / 3)
  const parts = [
    `<text x="${x + width / 2}" y="28" text-anchor="middle" font-weight="bold">${escapeXml(title)}</text>`,
    `<line x1="${x}" y1="${top + height}" x2="${x + width}" y2="${top + height}" stroke="#444"/>`,
    `<text x="${x}" y="${top - 8}" font-size="11" fill="#555">${escapeXml(unit)}</text>`,
  ]
  for (const [i, group] of groups.entries()) {
    const centre = x + slot * i + slot / 2
    for (const [j, impl] of (["ours", "baseline"] as const).entries()) {
      const value = group[impl]
      const barX = centre - bar + j * bar
      if (value === undefined) {
        parts.push(`<text x="${barX + bar / 2}" y="${top + height - 4}" text-anchor="middle" font-size="11">n/a</text>`)
        continue
      }
      const barHeight = Math.max(1, (value / max) * height)
      const y = top + height - barHeight
      const label = `${formatValue(value, unit)}${group.incomplete[impl] ? "*" : ""}`
      parts.push(
        `<rect x="${barX + 2}" y="${y.toFixed(1)}" width="${bar - 4}" height="${barHeight.toFixed(1)}" fill="${colours[impl]}"/>`,
        `<text x="${barX + bar / 2}" y="${(y - 4).toFixed(1)}" text-anchor="middle" font-size="11">${escapeXml(label)}</text>`,
      )
    }
    parts.push(
      `<text x="${centre}" y="${top + height + 18}" text-anchor="middle" font-size="12">${escapeXml(group.label)}</text>`,
    )
  }
  return parts.join("\n  ")
}

/** A hand-written SVG: latency percentiles and ingest rate, ours against the baseline. */
export const renderChart = (figures: ReadonlyArray<Figure>): string => {
  const byId = new Map(figures.map((figure) => [figure.id, figure]))
  const groupOf = (id: string, label: string): Group | undefined => {
    const figure = byId.get(id)
    if (figure === undefined) return undefined
    const summary = summarize(figure)
    return {
      label,
      ours: summary.ours,
      baseline: summary.baseline,
      incomplete: { ours: summary.problems.ours.length > 0, baseline: summary.problems.baseline.length > 0 },
    }
  }
  const latencySizes = figures.flatMap((figure) => {
    const match = /^latency-(\d+)-p50$/.exec(figure.id)
    return match?.[1] === undefined ? [] : [Number(match[1])]
  })
  const latencySize = Math.max(0, ...latencySizes)
  const latency = [50, 95, 99].flatMap((p) => groupOf(`latency-${latencySize}-p${p}`, `p${p}`) ?? [])
  const ingest = figures.flatMap((figure) => {
    const match = /^ingest-(\d+)-rate$/.exec(figure.id)
    return match?.[1] === undefined ? [] : (groupOf(figure.id, `${Number(match[1]).toLocaleString("en-US")} tx`) ?? [])
  })
  const width = 760
  const height = 330
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="13" role="img">
  <title>meshnode against the plain-ws baseline: propagation latency percentiles and ingest rate</title>
  <rect width="${width}" height="${height}" fill="#fff"/>
  ${panel(20, `Propagation to every pool, N=${latencySize} (lower is better)`, "ms", latency)}
  ${panel(400, "Ingest into 1 of 3 nodes (higher is better)", "tx/s", ingest)}
  <rect x="20" y="${height - 32}" width="12" height="12" fill="${colours.ours}"/>
  <text x="38" y="${height - 22}">ours (meshnode)</text>
  <rect x="170" y="${height - 32}" width="12" height="12" fill="${colours.baseline}"/>
  <text x="188" y="${height - 22}">baseline (plain ws, starter-kit style)</text>
  <text x="440" y="${height - 22}" font-size="11" fill="#555">median of runs; * = timed out or failed in a run (see the table)</text>
</svg>
`
}
