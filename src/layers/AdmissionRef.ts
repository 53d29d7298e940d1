import { Effect, HashMap, Layer, Option, Ref, Schedule } from "effect"
import {
  admit,
  type DoorRefusal,
  type DoorRules,
  type DoorVerdict,
  type IpEntry,
  isIdle,
  newEntry,
  release,
  report,
} from "../domain/ipAdmission.js"
import { ipKey } from "../domain/ipBuckets.js"
import type { MisbehaviourReason } from "../domain/misbehaviour.js"
import { Admission, DoorLimits } from "../services/Admission.js"

/** IPs remembered at most; past it, idle ones are forgotten (a ban or open connections never are). */
const MAX_IPS = 10_000

/** Refusals are summed up in one line at most this often. */
export const SUMMARY_INTERVAL_MILLIS = 10_000

interface DoorState {
  readonly ips: HashMap.HashMap<string, IpEntry>
  /** Refusals since the last summary line, by reason. */
  readonly refused: Readonly<Partial<Record<DoorRefusal, number>>>
  /** Distinct IPs refused since the last summary line (up to a few, for the line). */
  readonly refusedIps: ReadonlyArray<string>
}

const forgetIdle = (ips: HashMap.HashMap<string, IpEntry>, now: number, rules: DoorRules) =>
  HashMap.size(ips) < MAX_IPS ? ips : HashMap.filter(ips, (entry) => !isIdle(entry, now, rules))

/** An IP's entry, or a fresh one for an IP not seen yet (or forgotten). */
const entryOf = (ips: HashMap.HashMap<string, IpEntry>, ip: string, now: number, rules: DoorRules) =>
  Option.getOrElse(HashMap.get(ips, ip), () => newEntry(rules, now))

/** A new connection from `key`: the verdict, and the state after (a refusal is tallied for the summary line). */
const admitIn = (s: DoorState, key: string, now: number, rules: DoorRules): readonly [DoorVerdict, DoorState] => {
  const [verdict, entry] = admit(entryOf(s.ips, key, now, rules), now, rules)
  const ips = HashMap.set(forgetIdle(s.ips, now, rules), key, entry)
  if (verdict._tag === "Admitted") return [verdict, { ...s, ips }]
  const refused = { ...s.refused, [verdict.reason]: (s.refused[verdict.reason] ?? 0) + 1 }
  const refusedIps = s.refusedIps.includes(key) || s.refusedIps.length >= 5 ? s.refusedIps : [...s.refusedIps, key]
  return [verdict, { ips, refused, refusedIps }]
}

/** A connection from `key` closed (an IP already forgotten stays so). */
const releaseIn = (s: DoorState, key: string): DoorState =>
  Option.match(HashMap.get(s.ips, key), {
    onNone: () => s,
    onSome: (entry) => ({ ...s, ips: HashMap.set(s.ips, key, release(entry)) }),
  })

/** A misbehaviour reported against `key`: whether a ban started, and the state after. */
const reportIn = (
  s: DoorState,
  key: string,
  reason: MisbehaviourReason,
  now: number,
  rules: DoorRules,
): readonly [boolean, DoorState] => {
  const [banned, entry] = report(entryOf(s.ips, key, now, rules), reason, now, rules)
  return [banned, { ...s, ips: HashMap.set(forgetIdle(s.ips, now, rules), key, entry) }]
}

/** Admission over a Ref of per-IP entries (domain/ipAdmission.ts decides; this layer keeps and logs). */
export const make = Effect.gen(function* () {
  const limits = yield* DoorLimits
  const rules: DoorRules = { ...limits, banMillis: limits.banSeconds * 1000 }
  const state = yield* Ref.make<DoorState>({ ips: HashMap.empty(), refused: {}, refusedIps: [] })

  const summarise = Effect.gen(function* () {
    const { refused, refusedIps } = yield* Ref.getAndUpdate(state, (s) => ({ ...s, refused: {}, refusedIps: [] }))
    if (Object.keys(refused).length === 0) return
    yield* Effect.logWarning("connections refused").pipe(
      Effect.annotateLogs({ ...refused, ips: refusedIps.join(" "), over: `${SUMMARY_INTERVAL_MILLIS / 1000} s` }),
    )
  })
  yield* summarise.pipe(Effect.repeat(Schedule.spaced(SUMMARY_INTERVAL_MILLIS)), Effect.forkScoped)

  return Admission.of({
    admit: (ip) =>
      Effect.clockWith((clock) => {
        const key = ipKey(ip)
        const now = clock.unsafeCurrentTimeMillis()
        return Ref.modify(state, (s) => admitIn(s, key, now, rules))
      }),
    release: (ip) => Ref.update(state, (s) => releaseIn(s, ipKey(ip))),
    // A connection without a known IP (one this node dialled, on a transport that does not say) is not scored.
    report: (ip, reason) =>
      Effect.clockWith((clock) => {
        if (ip === undefined) return Effect.void
        const key = ipKey(ip)
        const now = clock.unsafeCurrentTimeMillis()
        return Ref.modify(state, (s) => reportIn(s, key, reason, now, rules)).pipe(
          Effect.flatMap((banned) =>
            banned
              ? Effect.logWarning("peer banned").pipe(
                  Effect.annotateLogs({
                    ip: key,
                    reason,
                    for: `${limits.banSeconds} s`,
                    limit: `score ${rules.banScore}`,
                  }),
                )
              : Effect.void,
          ),
        )
      }),
  })
})

export const layer = Layer.scoped(Admission, make)
