import type { Duration } from "effect"
import { type PeerInfo, PeersReport } from "../domain/PeerInfo.js"
import { dim } from "./output.js"
import { fetchFromNode } from "./statusClient.js"

/** `GET /peers` of the node on `port`; None when it does not answer in time. */
export const fetchPeers = (port: number, timeout: Duration.DurationInput = "2 seconds") =>
  fetchFromNode(port, "/peers", PeersReport, timeout)

const ago = (at: number, now: number) => `${Math.max(0, Math.round((now - at) / 1000))}s ago`
const inTime = (at: number, now: number) => `in ${Math.max(0, Math.round((at - now) / 100) / 10)}s`

// A given-up address is not dialled on its own: a peer listing it again after that time has it dialled.
const retryLabel = (peer: PeerInfo) => (peer.state === "given up" ? "retry if listed" : "retry")

/** One peer in a line: state, kind, direction, since when, the last failure and the next retry. */
export const describePeer = (peer: PeerInfo, now: number): string =>
  [
    peer.address,
    peer.state,
    peer.queued === true ? "queued" : undefined,
    peer.kind,
    peer.direction,
    peer.connectedSince === undefined ? undefined : `since ${ago(peer.connectedSince, now)}`,
    peer.failures === undefined || peer.failures === 0 ? undefined : `${peer.failures} failed`,
    peer.nextRetry === undefined ? undefined : `${retryLabel(peer)} ${inTime(peer.nextRetry, now)}`,
    peer.state === "connected" || peer.lastFailure === undefined
      ? undefined
      : `last failure ${ago(peer.lastFailure.at, now)}: ${peer.lastFailure.message}`,
  ]
    .filter((part) => part !== undefined)
    .join("  ")

/** The peers section of `status`: each node's table, one peer a line. */
export const renderPeers = (
  nodes: ReadonlyArray<{ readonly name: string; readonly report: PeersReport | undefined }>,
  now: number,
): Array<string> => {
  const lines = [dim("peers (state, kind, direction, connected since, failures, next retry, last failure)")]
  for (const { name, report } of nodes) {
    if (report === undefined) continue
    lines.push(`  ${name}${report.peers.length === 0 ? dim("  no peers") : ""}`)
    for (const peer of report.peers) lines.push(`    ${describePeer(peer, now)}`)
    if ((report.unlisted ?? 0) > 0) {
      lines.push(
        dim(`    and ${report.unlisted} more at rest (heard of, given up): GET /peers?address=ws://… shows one`),
      )
    }
  }
  return lines
}
