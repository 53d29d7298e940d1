import { Effect } from "effect"
import type { Address, AddressParser } from "../domain/Address.js"
import { screenAddresses } from "../domain/addressList.js"
import type { Handshake } from "../domain/Message.js"
import { Limits } from "../services/Limits.js"

/**
 * Our HANDSHAKE on a new outbound connection to `dialled`: our own address (`self`) and every
 * connected one. A plain function: it is built for every outbound connection.
 */
export const handshakeFor = (self: Address, connected: ReadonlyArray<Address>, dialled: Address): Handshake => {
  const data = [self, ...connected]
  if (!data.includes(dialled)) data.push(dialled)
  return { type: "HANDSHAKE", data }
}

/**
 * Makes a node's HANDSHAKE handler (the limits are looked up once per node). A HANDSHAKE received on a
 * connection from `source` (the peer's IP): every valid address among its first few goes to the
 * address book (`learn`, addressBook.ts), which dials what it does not know yet at the node's own
 * pace. Refused and dropped entries are summed up in one line each, so a hostile list cannot flood
 * the log.
 */
export const makeHandshakeHandler = (
  learn: (addresses: ReadonlyArray<Address>, source: string | undefined) => Effect.Effect<void>,
  parse: AddressParser,
) =>
  Effect.gen(function* () {
    const limits = yield* Limits
    // Every peer's HANDSHAKE lists most of the same addresses: the node's parser parses each spelling once.
    return (message: Handshake, source: string | undefined) =>
      Effect.gen(function* () {
        yield* Effect.logDebug("handshake received").pipe(Effect.annotateLogs({ addresses: message.data.length }))
        const { addresses, refused, dropped } = screenAddresses(message.data, limits.maxHandshakeAddresses, parse)
        if (dropped > 0) {
          yield* Effect.logWarning("handshake addresses dropped").pipe(
            Effect.annotateLogs({ dropped, limit: `${limits.maxHandshakeAddresses} addresses a handshake` }),
          )
        }
        if (refused.length > 0) {
          yield* Effect.logWarning("address refused").pipe(
            Effect.annotateLogs({ count: refused.length, refused: refused.slice(0, 10) }),
          )
        }
        yield* learn(addresses, source)
      }).pipe(
        Effect.withSpan("Handshake.receive", {
          attributes: { addresses: message.data.length },
          captureStackTrace: false,
        }),
      )
  })
