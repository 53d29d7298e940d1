import { createHash } from "node:crypto"
import { hostname } from "node:os"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, FastCheck as fc, TestClock } from "effect"
import { parseAddress } from "../src/domain/Address.js"
import { decodeFrame } from "../src/domain/Message.js"
import * as TransportMemory from "../src/layers/TransportMemory.js"
import { defaultLimits } from "../src/services/Limits.js"
import { startGuardedNode } from "./support/guardedNode.js"
import { fakePeer, record, send } from "./support/memoryNode.js"

/**
 * Whatever a peer sends, the node keeps running, dials only valid addresses that are not its own, and
 * its pool holds exactly the valid transactions it was sent. Frames come from generators of every kind
 * of bad input, mixed with valid handshakes and transactions.
 */

const NOW = 1_700_000_000_000
const NODE_PORT = 4001
const tolerance = defaultLimits.futureToleranceMillis
const maxPayloadBytes = 4_096

// ---- addresses: valid ones in several spellings, and ones built from parts, mostly subtly invalid.
const validAddressArbitrary = fc
  .tuple(
    fc.constantFrom("ws", "WS", "wss"),
    fc.constantFrom("localhost", "LocalHost", "peer-a.test", "127.0.0.1", "[::1]"),
    fc.integer({ min: 5001, max: 5009 }),
    fc.constantFrom("", "/"),
  )
  .map(([scheme, host, port, slash]) => `${scheme}://${host}:${port}${slash}`)

const addressArbitrary: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: validAddressArbitrary, weight: 3 },
  {
    weight: 5,
    arbitrary: fc
      .tuple(
        fc.constantFrom("ws", "WS", "wss", "http", "file", "javascript", "ftp", "ws:", ""),
        fc.constantFrom("://", ":/", "//", ":"),
        fc.constantFrom(
          "localhost",
          "LOCALHOST",
          "127.0.0.1",
          "[::1]",
          "0.0.0.0",
          "127.1",
          "user:pw@localhost",
          "local host",
          "",
          hostname(),
          "peer-a.test",
          "2130706433",
          "%6cocalhost",
        ),
        fc.constantFrom("", ":", ":0", ":5001", ":5002", `:${NODE_PORT}`, ":65536", ":05001", ":5001:5001", ":-1"),
        fc.constantFrom("", "/", "/path", "?q=1", "#f", " ", "\n", "\\", "//"),
      )
      .map((parts) => parts.join("")),
  },
  { arbitrary: fc.string(), weight: 1 },
  { arbitrary: fc.anything(), weight: 1 },
)

// ---- transactions: valid, tampered, out of range or from the future.
interface TxFields {
  fromAddress: string | null
  toAddress: string
  amount: number
  timeStamp: number
}
const hashOf = (tx: TxFields) =>
  createHash("sha256").update(`${tx.fromAddress}${tx.toAddress}${tx.amount}${tx.timeStamp}`).digest("hex")

const fieldsArbitrary: fc.Arbitrary<TxFields> = fc.record({
  fromAddress: fc.option(fc.hexaString({ maxLength: 8 }), { nil: null }),
  toAddress: fc.hexaString({ maxLength: 8 }),
  amount: fc.oneof(
    { arbitrary: fc.integer({ min: 1, max: 100 }), weight: 4 },
    { arbitrary: fc.double({ min: 0.001, max: 1e6, noNaN: true }), weight: 2 },
    { arbitrary: fc.constantFrom(0, -1, -0.5), weight: 1 },
  ),
  timeStamp: fc.oneof(
    { arbitrary: fc.integer({ min: 0, max: NOW }), weight: 4 },
    { arbitrary: fc.constant(NOW + tolerance), weight: 1 },
    { arbitrary: fc.integer({ min: NOW + tolerance + 1, max: NOW + 10 * tolerance }), weight: 1 },
  ),
})

const transactionArbitrary: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  // Honest: the hash matches (and the same transaction again, now and then).
  fieldsArbitrary.map((fields) => ({ ...fields, hash: hashOf(fields) })),
  fc.constant({
    fromAddress: null,
    toAddress: "04ab",
    amount: 1,
    timeStamp: NOW,
    hash: hashOf({ fromAddress: null, toAddress: "04ab", amount: 1, timeStamp: NOW }),
  }),
  // Tampered after hashing, or a hash of the wrong shape.
  fc
    .tuple(fieldsArbitrary, fc.integer({ min: 1, max: 5 }))
    .map(([fields, bump]) => ({ ...fields, hash: hashOf(fields), amount: fields.amount + bump })),
  fc
    .tuple(fieldsArbitrary, fc.hexaString({ minLength: 0, maxLength: 70 }))
    .map(([fields, hash]) => ({ ...fields, hash })),
  // Fields of the wrong type.
  fieldsArbitrary.map((fields) => ({ ...fields, amount: String(fields.amount), hash: hashOf(fields) })),
)

/** An independent check of what the node must accept: the spec's rules, written out again. */
const isValidTransaction = (tx: Record<string, unknown>): boolean =>
  (tx.fromAddress === null || typeof tx.fromAddress === "string") &&
  typeof tx.toAddress === "string" &&
  typeof tx.amount === "number" &&
  Number.isFinite(tx.amount) &&
  tx.amount > 0 &&
  typeof tx.timeStamp === "number" &&
  tx.timeStamp >= 0 &&
  tx.timeStamp <= NOW + tolerance &&
  tx.hash ===
    hashOf({ fromAddress: tx.fromAddress, toAddress: tx.toAddress, amount: tx.amount, timeStamp: tx.timeStamp })

// ---- frames: every kind of bad frame, and good ones.
type Sent = { readonly frame: string | Uint8Array; readonly tx?: Record<string, unknown> }

const frameArbitrary: fc.Arbitrary<Sent> = fc.oneof(
  {
    weight: 4,
    arbitrary: transactionArbitrary.map((tx) => ({ frame: JSON.stringify({ type: "TRANSACTION", data: tx }), tx })),
  },
  {
    weight: 2,
    arbitrary: fc
      .array(addressArbitrary, { maxLength: 12 })
      .map((data) => ({ frame: JSON.stringify({ type: "HANDSHAKE", data }) ?? "null" })),
  },
  fc.string().map((frame) => ({ frame })),
  fc.json().map((frame) => ({ frame })),
  fc.uint8Array({ maxLength: 64 }).map((frame) => ({ frame })),
  fc.record({ type: fc.string(), data: fc.anything() }).map((m) => ({ frame: JSON.stringify(m) ?? "null" })),
  fc.integer({ min: 33, max: 5_000 }).map((depth) => ({ frame: `${"[".repeat(depth)}${"]".repeat(depth)}` })),
  fc.integer({ min: maxPayloadBytes + 1, max: 3 * maxPayloadBytes }).map((size) => ({
    frame: JSON.stringify({ type: "HANDSHAKE", data: ["x".repeat(size)] }),
  })),
)

const ownSpellings = new Set(
  ["localhost", "127.0.0.1", "[::1]", hostname().toLowerCase()].flatMap((host) =>
    ["ws", "wss"].map((scheme) => `${scheme}://${host}:${NODE_PORT}`),
  ),
)

describe("hostile input, generated", () => {
  it.scoped.prop(
    "the node survives any frames, dials only valid addresses not its own, and stores exactly the valid transactions",
    { sent: fc.array(frameArbitrary, { minLength: 1, maxLength: 60, size: "large" }) },
    ({ sent }) =>
      Effect.gen(function* () {
        yield* TestClock.setTime(NOW)
        const node = yield* startGuardedNode(NODE_PORT, {
          // Bad frames are counted but never disconnect here: this property is about what gets through.
          limits: { maxPayloadBytes, badFramesPerMinute: 1_000_000 },
        })
        const socket = yield* (yield* fakePeer(4200)).dial(node.address)
        for (const { frame } of sent) yield* socket.send(frame)

        // Still alive: it dials a peer named in a handshake, and its first frame there is its HANDSHAKE.
        const probe = yield* fakePeer(4105)
        yield* send(socket, { type: "HANDSHAKE", data: [probe.address] })
        const reply = yield* (yield* record(yield* probe.nextInbound)).nextMessage
        expect(reply.type).toBe("HANDSHAKE")
        expect(reply.data).toContain(node.address)

        for (const address of yield* node.dialled) {
          expect(parseAddress(address)).toEqual(Either.right(address))
          expect(ownSpellings.has(address)).toBe(false)
        }
        const expected = new Map<string, unknown>()
        for (const { tx } of sent) {
          if (tx !== undefined && isValidTransaction(tx) && typeof tx.hash === "string" && !expected.has(tx.hash)) {
            expected.set(tx.hash, tx)
          }
        }
        expect(yield* node.pool.list).toEqual([...expected.values()])
        // And what is stored round-trips through the wire format.
        for (const tx of yield* node.pool.list) {
          expect(Either.isRight(decodeFrame(JSON.stringify({ type: "TRANSACTION", data: tx })))).toBe(true)
        }
      }).pipe(Effect.provide(TransportMemory.layerNetwork)),
    { fastCheck: { numRuns: 100 } },
  )
})
