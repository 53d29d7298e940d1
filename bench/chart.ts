import type { ImplName } from "./lib/processes.js"
import { type Figure, summarize } from "./lib/results.js"
import { formatValue } from "./report.js"

const colourOf = (impl: ImplName): string =>
  impl === "ours" ? "#2b6cb0" : impl === "baseline" ? "#dd6b20" : impl === "durable" ? "#2f855a" : "#805ad5"

/** What each implementation is, for the legend. */
const legendOf = (impl: ImplName): string =>
  impl === "ours"
    ? "ours (meshnode)"
    : impl === "baseline"
      ? "plain (starter-kit style)"
      : impl === "durable"
        ? "durable (same, our atomic write)"
        : impl

interface Bar {
  readonly impl: ImplName
  readonly value: number | undefined
  /** Timed out or failed in at least one run. */
  readonly incomplete: boolean
}

interface Group {
  readonly label: string
  readonly bars: ReadonlyArray<Bar>
}

const escapeXml = (text: string): string =>
  text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;")

const panelWidth = 340

/** One bar panel: a group of bars (one per implementation) per figure, on a linear axis from 0, values above. */
const panel = (x: number, title: string, unit: string, groups: ReadonlyArray<Group>): string => {
  const height = 200
  const top = 50
  const max = Math.max(1, ...groups.flatMap((group) => group.bars.map((bar) => bar.value ?? 0))) * 1.15
  const slot = panelWidth / Math.max(1, groups.length)
  const perGroup = Math.max(1, ...groups.map((group) => group.bars.length))
  const bar = Math.min(48, slot / (perGroup + 1))
  const parts = [
    `<text x="${x + panelWidth / 2}" y="28" text-anchor="middle" font-weight="bold">${escapeXml(title)}</text>`,
    `<line x1="${x}" y1="${top + height}" x2="${x + panelWidth}" y2="${top + height}" stroke="#444"/>`,
    `<text x="${x}" y="${top - 8}" font-size="11" fill="#555">${escapeXml(unit)}</text>`,
  ]
  for (const [i, group] of groups.entries()) {
    const centre = x + slot * i + slot / 2
    for (const [j, { impl, value, incomplete }] of group.bars.entries()) {
      const barX = centre - (bar * group.bars.length) / 2 + j * bar
      if (value === undefined) {
        parts.push(`<text x="${barX + bar / 2}" y="${top + height - 4}" text-anchor="middle" font-size="10">n/a</text>`)
        continue
      }
      const barHeight = Math.max(1, (value / max) * height)
      const y = top + height - barHeight
      const label = `${formatValue(value, unit)}${incomplete ? "*" : ""}`
      parts.push(
        `<rect x="${barX + 2}" y="${y.toFixed(1)}" width="${bar - 4}" height="${barHeight.toFixed(1)}" fill="${colourOf(impl)}"/>`,
        `<text x="${barX + bar / 2}" y="${(y - 4).toFixed(1)}" text-anchor="middle" font-size="10">${escapeXml(label)}</text>`,
      )
    }
    parts.push(
      `<text x="${centre}" y="${top + height + 18}" text-anchor="middle" font-size="12">${escapeXml(group.label)}</text>`,
    )
  }
  return parts.join("\n  ")
}

/** A hand-written SVG: latency percentiles at the largest N and ingest rate, every implementation side by side. */
export const renderChart = (figures: ReadonlyArray<Figure>, impls: ReadonlyArray<ImplName>): string => {
  const byId = new Map(figures.map((figure) => [figure.id, figure]))
  const groupOf = (id: string, label: string): Group | undefined => {
    const figure = byId.get(id)
    if (figure === undefined) return undefined
    const bars = summarize(figure, impls).byImpl.flatMap(({ impl, median, problems, runs }) =>
      runs === 0 ? [] : [{ impl, value: median, incomplete: problems.length > 0 }],
    )
    return { label, bars }
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
  const height = 350
  const legend = impls.map((impl, index) => {
    const x = 20 + index * 185
    return `<rect x="${x}" y="${height - 52}" width="12" height="12" fill="${colourOf(impl)}"/>
  <text x="${x + 18}" y="${height - 42}">${escapeXml(legendOf(impl))}</text>`
  })
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="13" role="img">
  <title>meshnode against the plain and the durable baseline: propagation latency percentiles and ingest rate</title>
  <rect width="${width}" height="${height}" fill="#fff"/>
  ${panel(20, `Propagation to every pool, N=${latencySize} (lower is better)`, "ms", latency)}
  ${panel(400, "Ingest into 1 of 3 nodes (higher is better)", "tx/s", ingest)}
  ${legend.join("\n  ")}
  <text x="20" y="${height - 14}" font-size="11" fill="#555">median of runs; * = timed out, lost or failed in a run (see the table)</text>
</svg>
`
}
