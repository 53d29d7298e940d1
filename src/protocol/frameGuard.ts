import { Clock, Data, Effect, Either, Option } from "effect"
import { showEntry } from "../domain/addressList.js"
import { exceedsJsonDepth } from "../domain/jsonDepth.js"
import { decodeFrame, type Message } from "../domain/Message.js"
import type { MisbehaviourReason } from "../domain/misbehaviour.js"
import { type BucketRate, fullBucket, takeToken } from "../domain/tokenBucket.js"
import { Admission } from "../services/Admission.js"
import { Limits, type LimitsShape } from "../services/Limits.js"
import { NodeStats, type NodeStatsShape } from "../services/NodeStats.js"
import type { Frame } from "../services/Transport.js"

/** A peer went over its budget of bad frames: its connection ends. */
export class TooManyBadFrames extends Data.TaggedError("TooManyBadFrames")<{ readonly limit: string }> {}

/** Why a frame was refused, as its log line says it. */
export type FrameRefusal =
  | "rate limit exceeded"
  | "binary frame"
  | "too large"
  | "too deeply nested"
  | "not JSON"
  | "no message type"
  | "invalid message"

/** What the guard made of one frame. */
export type Verdict =
  | { readonly _tag: "Message"; readonly message: Message }
  | { readonly _tag: "Refused"; readonly reason: FrameRefusal; readonly detail: string }
  | { readonly _tag: "Unknown"; readonly type: string }

/** Checks one connection's frames, in order; built per connection because it keeps that peer's budgets. */
export interface FrameGuard {
  /**
   * What one frame holds, decided synchronously at time `now` (ms): a message (decoded by its
   * Schema), a refusal, or a message of a type this node does not know. Runs for every frame, so
   * it is plain code; what a verdict costs in logs and budgets is `refuse` and `ignore`.
   */
  readonly inspect: (frame: Frame, now: number) => Verdict
  /**
   * A refused frame: one warning line naming the reason and the limit, counted against the peer's
   * budget of bad frames. Fails with TooManyBadFrames once the peer has sent more than it allows.
   */
  readonly refuse: (reason: FrameRefusal, detail: string) => Effect.Effect<void, TooManyBadFrames>
  /** A message of an unknown type: one debug line. */
  readonly ignore: (type: string) => Effect.Effect<void>
  /** `count` transactions the gossip refused: each counts against the sender's IP. */
  readonly refusedTransactions: (count: number) => Effect.Effect<void>
}

const limitOf = (reason: FrameRefusal, limits: LimitsShape): string => {
  switch (reason) {
    case "rate limit exceeded":
      return `${limits.messagesPerSecond} messages/s, bursts of ${limits.messageBurst}`
    case "binary frame":
      return "text frames only"
    case "too large":
      return `${limits.maxPayloadBytes} bytes`
    case "too deeply nested":
      return `depth ${limits.maxJsonDepth}`
    case "not JSON":
      return "JSON text only"
    case "no message type":
    case "invalid message":
      return "a well-formed message of a known type"
  }
}

const byteLength = (frame: Frame): number => (typeof frame === "string" ? Buffer.byteLength(frame) : frame.byteLength)

/**
 * Makes the guards of a node's connections: the services are looked up once, per node; each guard,
 * made by a plain call with its budgets full at `startedAt` (ms), holds only its connection's budgets.
 */
export const makeFrameGuards = Effect.gen(function* () {
  const limits = yield* Limits
  const stats = yield* NodeStats
  // Bad frames count against the sender's IP too (services/Admission.ts): past a score it is banned.
  const admission = yield* Effect.serviceOption(Admission)
  const report = Option.match(admission, {
    onNone: () => () => Effect.void,
    onSome: (admission) => admission.report,
  })
  const messageRate = { capacity: limits.messageBurst, perSecond: limits.messagesPerSecond }
  const badFrameRate = { capacity: limits.badFramesPerMinute, perSecond: limits.badFramesPerMinute / 60 }
  return (startedAt: number, remoteIp?: string): FrameGuard =>
    guardOf(limits, stats, messageRate, badFrameRate, startedAt, (reason) => report(remoteIp, reason))
})

const guardOf = (
  limits: LimitsShape,
  stats: NodeStatsShape,
  messageRate: BucketRate,
  badFrameRate: BucketRate,
  startedAt: number,
  reportSender: (reason: MisbehaviourReason) => Effect.Effect<void>,
): FrameGuard => {
  // One fiber reads a connection's frames in order, so plain variables are enough here.
  let messages = fullBucket(messageRate, startedAt)
  let badFrames = fullBucket(badFrameRate, startedAt)

  const refused = (reason: FrameRefusal, detail: string): Verdict => ({ _tag: "Refused", reason, detail })

  const inspect = (frame: Frame, now: number): Verdict => {
    const [allowed, next] = takeToken(messages, messageRate, now)
    messages = next
    if (!allowed) return refused("rate limit exceeded", "frame dropped")
    if (typeof frame !== "string") return refused("binary frame", `${frame.byteLength} bytes`)
    const size = byteLength(frame)
    if (size > limits.maxPayloadBytes) return refused("too large", `${size} bytes`)
    if (exceedsJsonDepth(frame, limits.maxJsonDepth)) return refused("too deeply nested", frame)
    const decoded = decodeFrame(frame)
    if (Either.isRight(decoded)) return { _tag: "Message", message: decoded.right }
    const error = decoded.left
    return error._tag === "FrameRejected" ? refused(error.reason, error.detail) : { _tag: "Unknown", type: error.type }
  }

  const refuse = Effect.fn("FrameGuard.refuse")(function* (reason: FrameRefusal, detail: string) {
    yield* Effect.logWarning("frame refused").pipe(
      Effect.annotateLogs({ reason, limit: limitOf(reason, limits), detail: showEntry(detail) }),
    )
    yield* stats.frameRefused(reason)
    yield* reportSender(reason === "rate limit exceeded" ? "over limit" : "bad frame")
    const [allowed, next] = takeToken(badFrames, badFrameRate, yield* Clock.currentTimeMillis)
    badFrames = next
    if (!allowed) return yield* new TooManyBadFrames({ limit: `${limits.badFramesPerMinute} bad frames a minute` })
  })

  const refusedTransactions = (count: number) =>
    Effect.replicateEffect(reportSender("refused transaction"), count, { discard: true })

  const ignore = (type: string) =>
    Effect.logDebug("message of unknown type ignored").pipe(
      Effect.annotateLogs({ type: showEntry(type) }),
      // One label for every unknown type: a peer must not grow our counters without bound.
      Effect.zipRight(stats.messageReceived("OTHER")),
    )

  return { inspect, refuse, ignore, refusedTransactions }
}
