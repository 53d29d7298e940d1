/**
 * "Did you mean": the node's entry point uses this too, so it is plain code rather than @effect/cli's
 * AutoCorrect, whose package would add its whole module graph to every node's start.
 */

/** Edits (insert, delete, replace one character) between two words. */
export const editDistance = (a: string, b: string): number => {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      current.push(Math.min((current[j - 1] ?? 0) + 1, (previous[j] ?? 0) + 1, (previous[j - 1] ?? 0) + cost))
    }
    previous = current
  }
  return previous[b.length] ?? 0
}

/** The candidate closest to `word` (at most 2 edits, or `word` is its prefix), if there is one. */
export const closest = (word: string, candidates: ReadonlyArray<string>): string | undefined => {
  let best: { readonly candidate: string; readonly distance: number } | undefined
  for (const candidate of candidates) {
    const distance = word.length >= 3 && candidate.startsWith(word) ? 1 : editDistance(word, candidate)
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
