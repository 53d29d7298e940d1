import { Effect, Either } from "effect"
import { type Address, parseAddress } from "../domain/Address.js"
import type { Handshake } from "../domain/Message.js"
import { NodeConfig } from "../services/NodeConfig.js"
import { PeerStore } from "../services/PeerStore.js"

/** Our HANDSHAKE on a new outbound connection to `dialled`: our own address and every connected one. */
export const handshakeFor = (dialled: Address) =>
  Effect.gen(function* () {
    const config = yield* NodeConfig
    const { connected } = yield* (yield* PeerStore).snapshot
    const data = [config.address, ...connected]
    if (!data.includes(dialled)) data.push(dialled)
    return { type: "HANDSHAKE", data } satisfies Handshake
  })

/** A HANDSHAKE received: dial every valid address in it (the dialler skips known ones and ourselves). */
export const onHandshake = (message: Handshake, dial: (address: Address) => Effect.Effect<void>) =>
  Effect.gen(function* () {
    yield* Effect.logDebug("handshake received").pipe(Effect.annotateLogs({ addresses: message.data.length }))
    for (const entry of message.data) {
      const address = parseAddress(entry)
      if (Either.isRight(address)) {
        yield* dial(address.right)
      } else {
        yield* Effect.logWarning("address refused").pipe(
          Effect.annotateLogs({ address: String(entry).slice(0, 200), reason: address.left }),
        )
      }
    }
  }).pipe(Effect.withSpan("Handshake.receive", { attributes: { addresses: message.data.length } }))
