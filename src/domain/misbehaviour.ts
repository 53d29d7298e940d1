/** What a peer did wrong, as `Admission.report` is told it. */
export type MisbehaviourReason = "bad frame" | "refused transaction" | "over limit"

/**
 * Points per misbehaviour. A peer reaches a ban score of 100 with 10 bad frames, 20 refused
 * transactions or 5 over-limit requests in quick succession; scores fade by one point a second, so an
 * honest peer's occasional mistake never adds up.
 */
const misbehaviourPoints: Readonly<Record<MisbehaviourReason, number>> = {
  "bad frame": 10,
  "refused transaction": 5,
  "over limit": 20,
}

/** Points a score loses each second. */
const scoreFadePerSecond = 1

export interface ScoreRules {
  /** The score at which an IP is banned. */
  readonly banScore: number
  /** How long a ban lasts, in ms. */
  readonly banMillis: number
}

/** An IP's misbehaviour: its score at `scoredAt` (ms), and until when it is banned (0: never was). */
export interface Score {
  readonly score: number
  readonly scoredAt: number
  readonly bannedUntil: number
}

export const cleanScore: Score = { score: 0, scoredAt: 0, bannedUntil: 0 }

/** The score at `now`, faded since it was last set. */
export const scoreAt = (score: Score, now: number): number =>
  Math.max(0, score.score - (Math.max(0, now - score.scoredAt) * scoreFadePerSecond) / 1000)

export const isBanned = (score: Score, now: number): boolean => now < score.bannedUntil

/**
 * Adds one misbehaviour at `now`: the new score, and whether this report started a ban (a ban starts
 * once; reports during it do not extend it, so a banned peer cannot keep itself in the log).
 */
export const addMisbehaviour = (
  score: Score,
  reason: MisbehaviourReason,
  now: number,
  rules: ScoreRules,
): { readonly score: Score; readonly banned: boolean } => {
  if (isBanned(score, now)) return { score, banned: false }
  const total = scoreAt(score, now) + misbehaviourPoints[reason]
  if (total < rules.banScore) return { score: { ...score, score: total, scoredAt: now }, banned: false }
  // The score starts again from zero when the ban ends.
  return { score: { score: 0, scoredAt: now + rules.banMillis, bannedUntil: now + rules.banMillis }, banned: true }
}
