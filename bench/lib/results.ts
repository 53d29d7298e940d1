import type { ScenarioName } from "./config.js"
import type { ImplName } from "./processes.js"
import { median } from "./stats.js"

/**
 * What went wrong in one run. `lost`, `duplicated` and `failed` are correctness failures (the bench exits
 * non-zero); `timeout` means the node was still making progress when the bench stopped waiting.
 */
export interface Problem {
  readonly kind: "lost" | "duplicated" | "failed" | "timeout"
  readonly detail: string
}

/** One run's value of one figure for one implementation. */
export interface Sample {
  readonly value: number | undefined
  readonly problem?: Problem
  /** How the value was obtained, where a scenario has more than one way (kept in the JSON). */
  readonly note?: string
}

export interface FigureSpec {
  readonly id: string
  readonly scenario: ScenarioName
  readonly label: string
  readonly unit: string
  readonly better: "lower" | "higher"
}

export interface Figure extends FigureSpec {
  /** Each implementation's samples, one per run that measured it (none where it does not run the scenario). */
  readonly samples: Partial<Record<ImplName, Array<Sample>>>
}

/** Per implementation: the median over the runs that produced a value. */
export interface ImplSummary {
  readonly impl: ImplName
  readonly median: number | undefined
  readonly problems: ReadonlyArray<Problem>
  readonly runs: number
}

export interface FigureSummary {
  readonly byImpl: ReadonlyArray<ImplSummary>
  /** For each implementation other than ours: ours ÷ it (undefined where either has no value). */
  readonly ratios: ReadonlyArray<{ readonly other: ImplName; readonly ratio: number | undefined }>
}

export class Results {
  private readonly figures = new Map<string, Figure>()

  /** `impls`: every implementation of the run, in the order the table shows them (ours first). */
  constructor(readonly impls: ReadonlyArray<ImplName>) {}

  record(spec: FigureSpec, impl: ImplName, sample: Sample): void {
    let figure = this.figures.get(spec.id)
    if (figure === undefined) {
      figure = { ...spec, samples: {} }
      this.figures.set(spec.id, figure)
    }
    const samples = figure.samples[impl] ?? []
    samples.push(sample)
    figure.samples[impl] = samples
  }

  all(): ReadonlyArray<Figure> {
    return [...this.figures.values()]
  }

  /** Correctness failures (losses, duplicates, failed scenarios), and timeouts when `strict`; each told once. */
  failures(strict: boolean): Array<string> {
    return problemLines(this.all(), this.impls, (problem) => strict || problem.kind !== "timeout")
  }
}

/** "impl, figure: detail" for each distinct problem (one detail is often shared by several figures). */
export const problemLines = (
  figures: ReadonlyArray<Figure>,
  impls: ReadonlyArray<ImplName>,
  include: (problem: Problem) => boolean = () => true,
): Array<string> => {
  const lines = new Map<string, string>()
  for (const figure of figures) {
    for (const impl of impls) {
      for (const sample of figure.samples[impl] ?? []) {
        const problem = sample.problem
        if (problem === undefined || !include(problem)) continue
        const key = `${impl}: ${problem.detail}`
        if (!lines.has(key)) lines.set(key, `${impl}, ${figure.label}: ${problem.detail}`)
      }
    }
  }
  return [...lines.values()]
}

/** Medians over the runs that produced a value, and ours ÷ each other implementation's. */
export const summarize = (figure: Figure, impls: ReadonlyArray<ImplName>): FigureSummary => {
  const byImpl = impls.map((impl): ImplSummary => {
    const samples = figure.samples[impl] ?? []
    return {
      impl,
      median: median(samples.flatMap((sample) => (sample.value === undefined ? [] : [sample.value]))),
      problems: samples.flatMap((sample) => (sample.problem === undefined ? [] : [sample.problem])),
      runs: samples.length,
    }
  })
  const ours = byImpl.find((summary) => summary.impl === "ours")?.median
  const ratios = byImpl
    .filter((summary) => summary.impl !== "ours")
    .map(({ impl, median: other }) => ({
      other: impl,
      ratio: ours !== undefined && other !== undefined && other !== 0 ? ours / other : undefined,
    }))
  return { byImpl, ratios }
}
