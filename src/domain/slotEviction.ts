/**
 * Which inbound connection to close when the inbound slots are full and a new peer knocks, the way
 * Bitcoin Core makes room (its "eviction" of inbound peers): an attacker that fills the slots cannot
 * lock newcomers out, and cannot push out the peers that are proven useful.
 *
 * 1. Protected: a peer that named itself (a node of ours linked to us), and the oldest half of the
 *    rest, rounded up (a long-lived connection is costly to fake; fresh ones are what a flood brings).
 * 2. Of the others, the IP with the most connections loses its newest one (of two IPs as crowded,
 *    the one with the newer connection).
 *
 * Undefined when every connection is protected: the newcomer is refused instead.
 */
export interface InboundHolder {
  /** The peer's IP (ipKey). */
  readonly ip: string
  /** Increases with every inbound connection: the order they opened in. */
  readonly serial: number
  /** Whether the peer named itself: a node of ours linked to us. */
  readonly named: boolean
}

export const pickEviction = <H extends InboundHolder>(holders: Iterable<H>): H | undefined => {
  const unnamed = [...holders].filter((holder) => !holder.named).sort((a, b) => a.serial - b.serial)
  const candidates = unnamed.slice(Math.ceil(unnamed.length / 2))
  const byIp = new Map<string, Array<H>>()
  for (const holder of candidates) byIp.set(holder.ip, [...(byIp.get(holder.ip) ?? []), holder])
  // Each group is oldest first; of two groups as crowded, the one with the newer connection loses it.
  const newest = (group: ReadonlyArray<H>) => group.at(-1)?.serial ?? -1
  let crowded: ReadonlyArray<H> = []
  for (const group of byIp.values()) {
    if (group.length > crowded.length || (group.length === crowded.length && newest(group) > newest(crowded))) {
      crowded = group
    }
  }
  return crowded.at(-1)
}
