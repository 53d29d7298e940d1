/**
 * A TRANSACTION frame as a peer not known to be ours gets it (docs/peer-states.md): the spec's
 * `type` and `data`, without our trace context. Many spec nodes read every frame's `data` as an
 * address list, and some object to fields they do not know. A plain string check first: a frame has
 * no trace context unless trace propagation is on.
 */
export const forSpecPeer = (frame: string): string => {
  if (!frame.includes('"traceparent"')) return frame
  const parsed: unknown = JSON.parse(frame)
  if (typeof parsed !== "object" || parsed === null || !("type" in parsed) || !("data" in parsed)) return frame
  return JSON.stringify({ type: parsed.type, data: parsed.data })
}
