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
  readonly samples: Record<ImplName, Array<Sample>>
}

export interface FigureSummary {
  readonly ours: number | undefined
  readonly baseline: number | undefined
  /** ours ÷ baseline. */
  readonly ratio: number | undefined
  readonly problems: Record<ImplName, ReadonlyArray<Problem>>
}

export class Results {
  private readonly figures = new Map<string, Figure>()

  record(spec: FigureSpec, impl: ImplName, sample: Sample): void {
    let figure = this.figures.get(spec.id)
    if (figure === undefined) {
      figure = { ...spec, samples: { ours: [], baseline: [] } }
      this.figures.set(spec.id, figure)
    }
    figure.samples[impl].push(sample)
  }

  all(): ReadonlyArray<Figure> {
    return [...this.figures.values()]
  }

  /** Correctness failures (losses, duplicates, failed scenarios), and timeouts when `strict`; each told once. */
  failures(strict: boolean): Array<string> {
    return problemLines(this.all(), (problem) => strict || problem.kind !== "timeout")
  }
}

/** "impl, figure: detail" for each distinct problem (one detail is often shared by several figures). */
export const problemLines = (
  figures: ReadonlyArray<Figure>,
  include: (problem: Problem) => boolean = () => true,
): Array<string> => {
  const lines = new Map<string, string>()
  for (const figure of figures) {
    for (const impl of ["ours", "baseline"] as const) {
      for (const sample of figure.samples[impl]) {
        const problem = sample.problem
        if (problem === undefined || !include(problem)) continue
        const key = `${impl}: ${problem.detail}`
        if (!lines.has(key)) lines.set(key, `${impl}, ${figure.label}: ${problem.detail}`)
      }
    }
  }
  return [...lines.values()]
}

/** Medians over the runs that produced a value, and their ratio. */
export const summarize = (figure: Figure): FigureSummary => {
  const medianOf = (impl: ImplName) =>
    median(figure.samples[impl].flatMap((sample) => (sample.value === undefined ? [] : [sample.value])))
  const ours = medianOf("ours")
  const baseline = medianOf("baseline")
  const ratio = ours !== undefined && baseline !== undefined && baseline !== 0 ? ours / baseline : undefined
  const problemsOf = (impl: ImplName) =>
    figure.samples[impl].flatMap((sample) => (sample.problem === undefined ? [] : [sample.problem]))
  return { ours, baseline, ratio, problems: { ours: problemsOf("ours"), baseline: problemsOf("baseline") } }
}
