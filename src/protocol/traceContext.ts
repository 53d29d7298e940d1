import { Effect, Option } from "effect"
import { type TransactionMessage, traceparentIn } from "../domain/Message.js"
import { remoteSpanOf, traceparentOf } from "../domain/TraceContext.js"
import { TracePropagation } from "../services/TracePropagation.js"

/**
 * Span options for handling a received transaction: continue the sender's trace when it sent one,
 * otherwise start a trace of its own, so each transaction's path is one trace.
 */
export const continueTrace = (message: TransactionMessage) => {
  const traceparent = traceparentIn(message)
  return traceparent === undefined ? { root: true } : { parent: remoteSpanOf(traceparent) }
}

/**
 * The message as this node sends it on: carrying the current span as its trace context when
 * propagation is on, and exactly the spec's `{ type, data }` otherwise.
 */
export const withOwnTraceContext = (message: TransactionMessage) =>
  Effect.gen(function* () {
    const plain: TransactionMessage = { type: message.type, data: message.data }
    if (!(yield* TracePropagation)) return plain
    const span = yield* Effect.option(Effect.currentSpan)
    return Option.match(span, {
      onNone: () => plain,
      onSome: (current): TransactionMessage => ({ ...plain, traceparent: traceparentOf(current) }),
    })
  })
