import { type Cluster, nodePort, startCluster } from "../lib/cluster.js"
import { PoolWatcher, waitForHashEverywhere } from "../lib/pools.js"
import { addressOf } from "../lib/processes.js"
import { type CountingRelay, startRelay } from "../lib/relay.js"
import { now, pollUntil } from "../lib/time.js"
import { makeTransactions, openSender, transactionFrame } from "../lib/transactions.js"
import { clusterOptions, relayPort, type ScenarioContext, waitForFullMesh } from "./context.js"

/**
 * How long no HANDSHAKE or PEERS frame may pass any relay before the network counts as settled: four
 * times our nodes' default PEERS_ANNOUNCE_DELAY_MS (250 ms), the pause before they tell their peers
 * of a change (the mesh probes themselves are such changes).
 */
const settledQuietMs = 1_000
/** Longest wait for that quiet; the transactions are sent anyway after it, and the note says so. */
const settleTimeoutMs = 10_000

/**
 * (4) TRANSACTION frames sent network-wide per transaction, on a settled network. Every node sits
 * behind a counting relay (bench/lib/relay.ts) and knows only relay addresses, so every frame between
 * nodes passes a relay. Once the mesh has formed and no HANDSHAKE or PEERS frame has passed for
 * `settledQuietMs`, transactions go one at a time straight into node 1 (not counted); once all have
 * reached every pool and the relays have been quiet for 300 ms, the relays' total divided by the
 * transactions is the figure.
 */
export const runFrames = async ({ impl, config, record, log }: ScenarioContext): Promise<void> => {
  for (const size of config.frameSizes) {
    const spec = {
      id: `frames-${size}`,
      scenario: "frames",
      label: `TRANSACTION frames per transaction, N=${size}`,
      unit: "frames",
      better: "lower",
    } as const
    const nodeAddress = (index: number) => addressOf(nodePort(config.basePort, index))
    const relayAddress = (index: number) => addressOf(relayPort(config.basePort, index))
    const indexes = Array.from({ length: size }, (_, index) => index)
    const relays: Array<CountingRelay> = []
    // Into node i: every other node's address becomes its relay's; node i's own relay becomes node i.
    const rewriteInto = (index: number) => (address: string) => {
      const other = indexes.find((j) => address === nodeAddress(j))
      if (other !== undefined && other !== index) return relayAddress(other)
      return address === relayAddress(index) ? nodeAddress(index) : address
    }
    let cluster: Cluster | undefined
    try {
      for (const index of indexes) {
        relays.push(
          await startRelay(
            relayPort(config.basePort, index),
            nodePort(config.basePort, index),
            rewriteInto(index),
            (client) => {
              const dialler = indexes.find((j) => client === nodeAddress(j))
              return dialler === undefined ? undefined : rewriteInto(dialler)
            },
          ),
        )
      }
      // The spec's known peers (node 1 and node 3) as relay addresses, except a node's own, which stays its own.
      const knownPeers = (index: number) =>
        (size >= 3 ? [0, 2] : [0]).map((j) => (j === index ? nodeAddress(j) : relayAddress(j)))
      cluster = await startCluster(impl, size, clusterOptions(config, knownPeers))
      const { missing } = await waitForFullMesh(cluster, config, (index) =>
        indexes.map((j) => (j === index ? nodeAddress(j) : relayAddress(j))),
      )
      if (missing !== undefined) throw new Error(missing)
      // Settled: what each node knows of its peers' peers no longer changes (a real network spends most
      // of its life so). Until then a node may relay to a peer its sender already covers.
      const meshAt = now()
      const lastAddressFrameAt = () =>
        relays.reduce((latest, relay) => Math.max(latest, relay.lastAddressFrameAt() ?? 0), meshAt)
      const settled = await pollUntil(() => now() - lastAddressFrameAt() > settledQuietMs, settleTimeoutMs, 20)
      const settledAfterMs = lastAddressFrameAt() - meshAt
      const lastSeen =
        settledAfterMs > 0
          ? `the last one ${settledAfterMs.toFixed(0)} ms after the mesh formed`
          : "none since the mesh formed"
      const note = settled
        ? `sent once no HANDSHAKE or PEERS frame had passed for ${settledQuietMs} ms; ${lastSeen}`
        : `HANDSHAKE or PEERS frames still passing ${settleTimeoutMs / 1000} s after the mesh formed; sent anyway`
      const total = () => relays.reduce((sum, relay) => sum + relay.transactionFrames(), 0)
      const before = total()
      const pools = cluster.nodes.map((node) => new PoolWatcher(node.poolFile))
      const sender = await openSender(nodeAddress(0))
      let lost = 0
      for (const tx of makeTransactions(config.frameSamples)) {
        sender.send(transactionFrame(tx))
        const arrivedAt = await waitForHashEverywhere(pools, tx.hash, { timeoutMs: 5_000, pollMs: config.pollMs })
        if (arrivedAt === undefined) lost++
      }
      sender.close()
      // Quiet: no new frame for 300 ms (forwarding may continue after the pools are written).
      let last = total()
      let lastChange = Date.now()
      await pollUntil(
        () => {
          if (total() !== last) {
            last = total()
            lastChange = Date.now()
          }
          return Date.now() - lastChange > 300
        },
        10_000,
        20,
      )
      const perTransaction = (total() - before) / config.frameSamples
      record(spec, {
        value: perTransaction,
        note,
        ...(lost > 0 && { problem: { kind: "lost", detail: `${lost} transaction(s) not in every pool within 5 s` } }),
      })
      log(`N=${size}: ${perTransaction.toFixed(1)} frames per transaction${lost > 0 ? `, ${lost} LOST` : ""} (${note})`)
    } catch (error) {
      record(spec, { value: undefined, problem: { kind: "failed", detail: String(error) } })
      log(`N=${size}: failed: ${String(error)}`)
    } finally {
      await cluster?.stop()
      await Promise.all(relays.map((relay) => relay.close()))
    }
  }
}
