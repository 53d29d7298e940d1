import { AutoCorrect, CliConfig } from "@effect/cli"

const config = CliConfig.make({})

/** The candidate closest to `word` (at most 2 edits, or `word` is its prefix), if there is one. */
export const closest = (word: string, candidates: ReadonlyArray<string>): string | undefined => {
  let best: { readonly candidate: string; readonly distance: number } | undefined
  for (const candidate of candidates) {
    const distance =
      word.length >= 3 && candidate.startsWith(word) ? 1 : AutoCorrect.levensteinDistance(word, candidate, config)
    if (distance <= 2 && (best === undefined || distance < best.distance)) best = { candidate, distance }
  }
  return best?.candidate
}

/** "; did you mean '--port'?" when a candidate is close, else the candidates listed. */
export const suggestion = (word: string, candidates: ReadonlyArray<string>): string => {
  const match = closest(word, candidates)
  if (match !== undefined) return `; did you mean '${match}'?`
  return candidates.length === 0 ? "" : ` (known: ${candidates.join(", ")})`
}
