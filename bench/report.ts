import { cpus } from "node:os"
import type { BenchConfig } from "./lib/config.js"
import { type ImplName, implLabel } from "./lib/processes.js"
import { type Figure, type FigureSummary, type ImplSummary, problemLines, summarize } from "./lib/results.js"

export const formatValue = (value: number | undefined, unit: string): string => {
  if (value === undefined || Number.isNaN(value)) return "n/a"
  if (unit === "tx/s" || unit === "tx" || unit === "reads") return Math.round(value).toLocaleString("en-US")
  return value >= 100 ? value.toFixed(0) : value.toFixed(1)
}

/** "3.2× better" / "1.4× worse" / "same", for ours against a value of `other`, reading `better` the right way round. */
const verdict = (figure: Figure, ours: number | undefined, other: number | undefined): string => {
  if (ours === undefined || other === undefined) return ""
  if (ours === other) return "same"
  if (ours === 0 || other === 0) return (figure.better === "lower") === ours < other ? "better" : "worse"
  const factor = figure.better === "lower" ? other / ours : ours / other
  if (Math.abs(factor - 1) < 0.03) return "same"
  return factor > 1 ? `${factor.toFixed(1)}× better` : `${(1 / factor).toFixed(1)}× worse`
}

const cell = (figure: Figure, summary: ImplSummary): string => {
  if (summary.runs === 0) return "–"
  const value = formatValue(summary.median, figure.unit)
  if (summary.problems.length === 0) return value
  const kinds = [...new Set(summary.problems.map((problem) => problem.kind.toUpperCase()))].join("+")
  return `${value} (${kinds} in ${summary.problems.length}/${summary.runs})`
}

const ratioCell = (figure: Figure, summary: FigureSummary, other: ImplName, ratio: number | undefined): string => {
  const ours = summary.byImpl.find((entry) => entry.impl === "ours")?.median
  const theirs = summary.byImpl.find((entry) => entry.impl === other)?.median
  const judged = verdict(figure, ours, theirs)
  if (ratio === undefined) return judged
  return `${ratio.toFixed(ratio < 0.1 ? 3 : 2)}${judged === "" ? "" : ` (${judged})`}`
}

/**
 * The results as a Markdown table: one column per implementation (medians; – where it does not run
 * that scenario), then ours ÷ each other implementation with which way that goes; then the problems seen.
 */
export const renderTable = (figures: ReadonlyArray<Figure>, impls: ReadonlyArray<ImplName>): string => {
  const others = impls.filter((impl) => impl !== "ours")
  const header = ["scenario", ...impls.map(implLabel), ...others.map((other) => `ours ÷ ${implLabel(other)}`)]
  const lines = [
    `| ${header.join(" | ")} |`,
    `|---|${header
      .slice(1)
      .map(() => "---:")
      .join("|")}|`,
  ]
  for (const figure of figures) {
    const summary = summarize(figure, impls)
    const values = summary.byImpl.map((entry) => cell(figure, entry))
    const ratios = summary.ratios.map(({ other, ratio }) => ratioCell(figure, summary, other, ratio))
    lines.push(`| ${[figure.label, ...values, ...ratios].join(" | ")} |`)
  }
  const notes = problemLines(figures, impls).map((line) => `- ${line}`)
  return [...lines, ...(notes.length > 0 ? ["", "Problems:", ...notes] : [])].join("\n")
}

export const renderJson = (
  figures: ReadonlyArray<Figure>,
  impls: ReadonlyArray<ImplName>,
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
        const summary = summarize(figure, impls)
        return {
          id: figure.id,
          label: figure.label,
          unit: figure.unit,
          better: figure.better,
          ...Object.fromEntries(
            summary.byImpl.map(({ impl, median }) => [impl, { median, runs: figure.samples[impl] ?? [] }]),
          ),
          ratios: Object.fromEntries(summary.ratios.map(({ other, ratio }) => [`ours/${other}`, ratio])),
        }
      }),
      failures,
    },
    null,
    2,
  )
