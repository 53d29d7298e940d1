import { performance } from "node:perf_hooks"

/** The bench's one clock: milliseconds from a monotonic origin. Every timestamp comes from here. */
export const now = (): number => performance.now()

export const sleep = (millis: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, millis))

/** Resolves true once `check` holds, polling every `intervalMs`; false if `timeoutMs` passes first. */
export const pollUntil = async (check: () => boolean, timeoutMs: number, intervalMs: number): Promise<boolean> => {
  const deadline = now() + timeoutMs
  while (!check()) {
    if (now() > deadline) return false
    await sleep(intervalMs)
  }
  return true
}
