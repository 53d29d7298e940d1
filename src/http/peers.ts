import { Effect, Either } from "effect"
import { parseAddress } from "../domain/Address.js"
import { type PeersReport, peerInfoOf } from "../domain/PeerInfo.js"
import type { PeerEntry } from "../domain/PeerTable.js"
import { NodeConfig } from "../services/NodeConfig.js"
import { PeerStore } from "../services/PeerStore.js"

/**
 * How many addresses at rest (heard of, given up, our own) `GET /peers` lists, the most recently
 * changed: a peer can fill the table with thousands (MAX_REMEMBERED_ADDRESSES), and one answer must
 * not grow with them. Every address with something under way is listed.
 */
export const AT_REST_LISTED = 64

/** Whether something is under way for the entry: a connection, a dial, a wait for the next, or the dial loop. */
const underWay = (entry: PeerEntry): boolean =>
  entry.queued === true ||
  entry.state._tag === "Connected" ||
  entry.state._tag === "Dialling" ||
  entry.state._tag === "BackingOff"

/**
 * The entries `GET /peers` lists, in the table's order: those with something under way, and the
 * `atRest` most recently changed of the others; and how many of those it leaves out.
 */
export const listedEntries = (entries: ReadonlyArray<PeerEntry>, atRest: number) => {
  const resting = entries.filter((entry) => !underWay(entry))
  if (resting.length <= atRest) return { listed: entries, unlisted: 0 }
  const shown = new Set([...resting].sort((a, b) => b.changedAt - a.changedAt).slice(0, atRest))
  return {
    listed: entries.filter((entry) => underWay(entry) || shown.has(entry)),
    unlisted: resting.length - atRest,
  }
}

/** The node's peer table as `GET /peers` reports it. */
export const collectPeers = Effect.gen(function* () {
  const config = yield* NodeConfig
  const { listed, unlisted } = listedEntries(yield* (yield* PeerStore).entries, AT_REST_LISTED)
  return {
    address: config.address,
    peers: listed.map(peerInfoOf),
    ...(unlisted > 0 ? { unlisted } : {}),
  } satisfies PeersReport
})

/** What `GET /peers?address=…` answers: the entry of one address, none, or why the text is no address. */
export type OnePeer =
  | { readonly _tag: "Found"; readonly report: PeersReport }
  | { readonly _tag: "Absent"; readonly address: string }
  | { readonly _tag: "NotAnAddress"; readonly problem: string }

/** The table's entry for the address `text` names (normalised as every address is). */
export const collectPeer = (text: string) =>
  Effect.gen(function* () {
    const parsed = parseAddress(text)
    if (Either.isLeft(parsed)) return { _tag: "NotAnAddress", problem: parsed.left } satisfies OnePeer
    const entry = yield* (yield* PeerStore).entry(parsed.right)
    if (entry === undefined) return { _tag: "Absent", address: parsed.right } satisfies OnePeer
    const config = yield* NodeConfig
    return { _tag: "Found", report: { address: config.address, peers: [peerInfoOf(entry)] } } satisfies OnePeer
  })
