import { createHash } from "node:crypto"

/**
 * A pool's digest, as the catch-up sync compares pools (docs/protocol-sync.md) and /status reports
 * them: SHA-256 (hex) of its hashes, sorted, joined by "\n".
 */
export const poolDigest = (hashes: Iterable<string>): string =>
  createHash("sha256")
    .update([...hashes].sort().join("\n"))
    .digest("hex")

/** A pool in brief: its size and digest. */
export interface PoolSummary {
  readonly count: number
  readonly digest: string
}
