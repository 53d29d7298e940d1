import { addMisbehaviour, cleanScore, isBanned, type MisbehaviourReason, type Score, scoreAt } from "./misbehaviour.js"
import { type BucketRate, fullBucket, type TokenBucket, takeToken } from "./tokenBucket.js"

/** What the door checks per IP, before a WebSocket upgrade completes. */
export interface DoorRules {
  readonly maxConnectionsPerIp: number
  readonly newConnectionsPerIpPerMinute: number
  readonly banScore: number
  readonly banMillis: number
}

/** Why an IP was turned away at the door. */
export type DoorRefusal = "banned" | "too many connections" | "too many new connections"

export type DoorVerdict = { readonly _tag: "Admitted" } | { readonly _tag: "Refused"; readonly reason: DoorRefusal }

/** One IP: its open connections, its budget of new ones, its misbehaviour. */
export interface IpEntry {
  readonly open: number
  readonly arrivals: TokenBucket
  readonly score: Score
}

const arrivalRate = (rules: DoorRules): BucketRate => ({
  capacity: rules.newConnectionsPerIpPerMinute,
  perSecond: rules.newConnectionsPerIpPerMinute / 60,
})

export const newEntry = (rules: DoorRules, now: number): IpEntry => ({
  open: 0,
  arrivals: fullBucket(arrivalRate(rules), now),
  score: cleanScore,
})

const admitted: DoorVerdict = { _tag: "Admitted" }
const refused = (reason: DoorRefusal): DoorVerdict => ({ _tag: "Refused", reason })

/**
 * A new connection from an IP at `now`: admitted (counted as open) or refused. A banned IP and one
 * at its connection cap are refused before they spend their budget of new connections.
 */
export const admit = (entry: IpEntry, now: number, rules: DoorRules): readonly [DoorVerdict, IpEntry] => {
  if (isBanned(entry.score, now)) return [refused("banned"), entry]
  if (entry.open >= rules.maxConnectionsPerIp) return [refused("too many connections"), entry]
  const [allowed, arrivals] = takeToken(entry.arrivals, arrivalRate(rules), now)
  if (!allowed) return [refused("too many new connections"), { ...entry, arrivals }]
  return [admitted, { ...entry, open: entry.open + 1, arrivals }]
}

/** A connection admitted earlier has closed. */
export const release = (entry: IpEntry): IpEntry => ({ ...entry, open: Math.max(0, entry.open - 1) })

/** A misbehaviour reported against the IP: the entry after, and whether a ban started. */
export const report = (
  entry: IpEntry,
  reason: MisbehaviourReason,
  now: number,
  rules: DoorRules,
): readonly [boolean, IpEntry] => {
  const { score, banned } = addMisbehaviour(entry.score, reason, now, rules)
  return [banned, { ...entry, score }]
}

/** Whether the entry holds nothing a fresh one would not: it can be forgotten. */
export const isIdle = (entry: IpEntry, now: number, rules: DoorRules): boolean =>
  entry.open === 0 &&
  !isBanned(entry.score, now) &&
  scoreAt(entry.score, now) === 0 &&
  takeToken(entry.arrivals, arrivalRate(rules), now)[1].tokens >= rules.newConnectionsPerIpPerMinute - 1
