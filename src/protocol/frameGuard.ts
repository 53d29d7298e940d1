import { Clock, Data, Effect, Either, Option } from "effect"
import { showEntry } from "../domain/addressList.js"
import { exceedsJsonDepth } from "../domain/jsonDepth.js"
import { decodeFrame, type Message } from "../domain/Message.js"
import { fullBucket, takeToken } from "../domain/tokenBucket.js"
import { Limits, type LimitsShape } from "../services/Limits.js"
import { NodeStats } from "../services/NodeStats.js"
import { TransactionPool } from "../services/TransactionPool.js"
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

/** Checks one connection's frames, in order; built per connection because it keeps that peer's budgets. */
export interface FrameGuard {
  /**
   * The message a frame holds, or None if it was refused (one warning line naming the reason and the
   * limit) or is of a type this node does not know (one debug line). Fails with TooManyBadFrames once
   * the peer has sent more bad frames than its budget allows.
   */
  readonly admit: (frame: Frame) => Effect.Effect<Option.Option<Message>, TooManyBadFrames>
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
 * The hash of a TRANSACTION frame as JSON.stringify writes one (ours and the spec's). In a mesh most
 * TRANSACTION frames a node receives are copies of one it already holds: recognising them by hash
 * skips the decoding and the SHA-256 check. Whatever such a frame holds, it would be dropped anyway.
 */
const transactionHashOf = (frame: string): string | undefined =>
  frame.startsWith('{"type":"TRANSACTION","data":{')
    ? /"hash":"([0-9a-f]{64})"/.exec(frame.slice(0, 4096))?.[1]
    : undefined

export const makeFrameGuard = Effect.gen(function* () {
  const limits = yield* Limits
  const stats = yield* NodeStats
  const pool = yield* Effect.serviceOption(TransactionPool)
  const messageRate = { capacity: limits.messageBurst, perSecond: limits.messagesPerSecond }
  const badFrameRate = { capacity: limits.badFramesPerMinute, perSecond: limits.badFramesPerMinute / 60 }
  const startedAt = yield* Clock.currentTimeMillis
  // One fiber reads a connection's frames in order, so plain variables are enough here.
  let messages = fullBucket(messageRate, startedAt)
  let badFrames = fullBucket(badFrameRate, startedAt)

  const refuse = (reason: FrameRefusal, detail: string) =>
    Effect.gen(function* () {
      yield* Effect.logWarning("frame refused").pipe(
        Effect.annotateLogs({ reason, limit: limitOf(reason, limits), detail: showEntry(detail) }),
      )
      yield* stats.increment("framesRefused")
      const [allowed, next] = takeToken(badFrames, badFrameRate, yield* Clock.currentTimeMillis)
      badFrames = next
      if (!allowed) return yield* new TooManyBadFrames({ limit: `${limits.badFramesPerMinute} bad frames a minute` })
      return Option.none<Message>()
    })

  const admit = (frame: Frame) =>
    Effect.gen(function* () {
      const [allowed, next] = takeToken(messages, messageRate, yield* Clock.currentTimeMillis)
      messages = next
      if (!allowed) return yield* refuse("rate limit exceeded", "frame dropped")
      if (typeof frame !== "string") return yield* refuse("binary frame", `${frame.byteLength} bytes`)
      const size = byteLength(frame)
      if (size > limits.maxPayloadBytes) return yield* refuse("too large", `${size} bytes`)
      if (exceedsJsonDepth(frame, limits.maxJsonDepth)) return yield* refuse("too deeply nested", frame)
      const knownHash = transactionHashOf(frame)
      if (knownHash !== undefined && Option.isSome(pool) && (yield* pool.value.has(knownHash))) {
        yield* stats.messageReceived("TRANSACTION")
        yield* stats.increment("transactionsDuplicate")
        return Option.none<Message>()
      }
      const decoded = decodeFrame(frame)
      if (Either.isRight(decoded)) return Option.some(decoded.right)
      const error = decoded.left
      if (error._tag === "FrameRejected") return yield* refuse(error.reason, error.detail)
      yield* Effect.logDebug("message of unknown type ignored").pipe(
        Effect.annotateLogs({ type: showEntry(error.type) }),
      )
      // One label for every unknown type: a peer must not grow our counters without bound.
      yield* stats.messageReceived("OTHER")
      return Option.none<Message>()
    })

  return { admit } satisfies FrameGuard
})
