import { Effect } from "effect"
import type { Address } from "../domain/Address.js"
import { ipKey } from "../domain/ipBuckets.js"
import { type InboundHolder, pickEviction } from "../domain/slotEviction.js"
import { Limits, type LimitsShape } from "../services/Limits.js"
import { throttledWarning } from "./throttledWarning.js"

/** Who asks for a slot: a peer that connected to us, a dial of ours to a learned address, or to a known peer. */
type SlotUse = "inbound" | "learned" | "known"

/** An inbound connection asking for a slot: who it is, how to close it, and whether its peer named itself. */
export interface InboundPeer {
  readonly remoteIp: string | undefined
  readonly close: Effect.Effect<void>
  readonly isNamed: () => boolean
}

interface Holder {
  readonly ip: string
  readonly serial: number
  readonly peer: InboundPeer
}

/** What asking for a slot came to: one taken (perhaps by evicting `evict`), or refused at `limit`. */
type Taken =
  | { readonly _tag: "Taken"; readonly use: SlotUse; readonly holder?: Holder; readonly evict?: Holder }
  | { readonly _tag: "Refused"; readonly limit: string }

/** The numbers the slots are kept by: the limits, and how many of them our own dials and known peers keep. */
const slotLimits = (limits: LimitsShape, knownPeers: number) => {
  const reserved = Math.min(limits.reservedOutbound, Math.floor(limits.maxConnections / 2))
  return {
    maxConnections: limits.maxConnections,
    reserved,
    inboundLimit: limits.maxConnections - reserved,
    knownReserved: Math.min(knownPeers, reserved),
  }
}

/**
 * Who holds the slots, changed only in synchronous steps, so fibers cannot interleave in a change. A
 * connection being evicted keeps its slot until it has closed, but no longer counts against a newcomer.
 */
const makeSlotLedger = (limits: ReturnType<typeof slotLimits>) => {
  const { maxConnections, reserved, inboundLimit, knownReserved } = limits
  let open = 0
  let inbound = 0
  let openToKnown = 0
  let serial = 0
  const holders = new Set<Holder>()
  const evicted = new Set<Holder>()

  /** Why a connection for `use` gets no free slot now, or undefined if it gets one. */
  const fullFor = (use: SlotUse): string | undefined => {
    if (open - evicted.size >= maxConnections) return `${maxConnections} connections`
    if (use !== "known" && open - openToKnown - evicted.size >= maxConnections - knownReserved) {
      return `${maxConnections - knownReserved} connections (${knownReserved} kept for known peers)`
    }
    if (use === "inbound" && inbound - evicted.size >= inboundLimit) {
      return `${inboundLimit} inbound connections (${reserved} of ${maxConnections} kept for our own dials)`
    }
    return undefined
  }

  /** Takes a slot for `use` if one is free; an inbound newcomer may take an evicted peer's instead. */
  const claim = (use: SlotUse, peer: InboundPeer | undefined): Taken => {
    const full = fullFor(use)
    let evict: Holder | undefined
    if (full !== undefined) {
      const named = (holder: Holder): InboundHolder & { readonly holder: Holder } => ({
        ...holder,
        named: holder.peer.isNamed(),
        holder,
      })
      evict = peer === undefined ? undefined : pickEviction([...holders].map(named))?.holder
      if (evict === undefined) return { _tag: "Refused", limit: full }
      holders.delete(evict)
      evicted.add(evict)
    }
    open++
    if (use === "known") openToKnown++
    if (peer === undefined) return { _tag: "Taken", use, ...(evict ? { evict } : {}) }
    inbound++
    const holder = { ip: ipKey(peer.remoteIp), serial: serial++, peer }
    holders.add(holder)
    return { _tag: "Taken", use, holder, ...(evict ? { evict } : {}) }
  }

  const release = (taken: Taken) => {
    if (taken._tag === "Refused") return
    open--
    if (taken.use === "known") openToKnown--
    if (taken.holder === undefined) return
    inbound--
    holders.delete(taken.holder)
    evicted.delete(taken.holder)
  }

  return { claim, release, open: () => open }
}

/**
 * The node's budget of open connections, inbound and outbound together. Inbound connections may
 * take all but `reservedOutbound` of them (at most half), so peers that connect to us, however many,
 * never keep us from dialling our own. Of those kept, one per known peer (known-peers.json) is kept
 * from dials to learned addresses too, so addresses that others list, however many answer, never
 * keep us from our known peers. When the inbound ones are full, a newcomer takes the slot of the
 * least useful inbound peer (domain/slotEviction.ts) or, if every one is protected, is refused.
 */
export const makeConnectionSlots = (knownPeers: ReadonlyArray<Address>) =>
  Effect.gen(function* () {
    const known = new Set(knownPeers)
    const limits = slotLimits(yield* Limits, known.size)
    const ledger = makeSlotLedger(limits)
    const evictedLine = throttledWarning("inbound connection evicted: connection slots full", 60_000)

    /**
     * Takes a slot for as long as the scope is open: true if there was one. When there is none, one
     * warning line says so and the caller refuses the connection.
     */
    const take = (use: SlotUse, peer?: InboundPeer) =>
      Effect.flatMap(
        Effect.acquireRelease(
          Effect.sync(() => ledger.claim(use, peer)),
          (taken) => Effect.sync(() => ledger.release(taken)),
        ),
        (taken) => {
          const direction = peer === undefined ? "outbound" : "inbound"
          if (taken._tag === "Refused") {
            return Effect.logWarning("connection refused: too many connections").pipe(
              Effect.annotateLogs({ direction, limit: taken.limit }),
              Effect.as(false),
            )
          }
          if (taken.evict === undefined) return Effect.succeed(true)
          return taken.evict.peer.close.pipe(
            Effect.zipRight(evictedLine({ ip: taken.evict.ip, limit: `${limits.inboundLimit} inbound connections` })),
            Effect.as(true),
          )
        },
      )

    return {
      /** A slot for a dial of ours to `address`. */
      outbound: (address: Address) => take(known.has(address) ? "known" : "learned"),
      /** A slot for a peer that connected to us. */
      inbound: (peer: InboundPeer) => take("inbound", peer),
      open: Effect.sync(ledger.open),
    }
  })

export type ConnectionSlots = Effect.Effect.Success<ReturnType<typeof makeConnectionSlots>>
