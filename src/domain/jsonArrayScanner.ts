/**
 * Splits a JSON array that arrives in chunks into its elements' texts, one at a time, so a file of
 * any size is read without ever holding it whole. It checks only the array's frame (brackets,
 * commas, strings); each element's own JSON is for its consumer to parse. Structural characters are
 * ASCII, so scanning UTF-8 bytes never mistakes part of a multi-byte character for one.
 *
 * `onElement` answers an error message to stop at, or undefined; `push` and `end` answer the first
 * error (a broken frame, or the consumer's), or undefined.
 */
export const makeJsonArrayScanner = (onElement: (text: string) => string | undefined) => {
  type Phase = "start" | "firstValue" | "value" | "inValue" | "commaOrEnd" | "after" | "failed"
  let phase: Phase = "start"
  let kind: "container" | "string" | "primitive" = "container"
  let depth = 0
  let inString = false
  let escaped = false
  let parts: Array<Uint8Array> = []
  let consumed = 0
  let failure: string | undefined

  const fail = (message: string) => {
    phase = "failed"
    failure = message
    return message
  }
  const finish = (chunk: Uint8Array, start: number, end: number) => {
    parts.push(chunk.subarray(start, end))
    const text = Buffer.concat(parts).toString("utf8")
    parts = []
    phase = "commaOrEnd"
    const error = onElement(text)
    if (error !== undefined) fail(error)
  }
  const isSpace = (byte: number) => byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09

  /** One byte inside an element; answers whether the element ended (at `i`, exclusive, or before it). */
  const inValue = (byte: number): "more" | "endsAfter" | "endsBefore" => {
    if (inString) {
      if (escaped) escaped = false
      else if (byte === 0x5c) escaped = true
      else if (byte === 0x22) {
        inString = false
        if (kind === "string") return "endsAfter"
      }
      return "more"
    }
    if (kind === "primitive") return isSpace(byte) || byte === 0x2c || byte === 0x5d ? "endsBefore" : "more"
    if (byte === 0x22) inString = true
    else if (byte === 0x7b || byte === 0x5b) depth++
    else if (byte === 0x7d || byte === 0x5d) {
      depth--
      if (depth === 0) return "endsAfter"
    }
    return "more"
  }

  const startValue = (byte: number) => {
    phase = "inValue"
    kind = byte === 0x7b || byte === 0x5b ? "container" : byte === 0x22 ? "string" : "primitive"
    depth = kind === "container" ? 1 : 0
    inString = kind === "string"
  }

  const push = (chunk: Uint8Array): string | undefined => {
    let start = 0
    for (let i = 0; i < chunk.length && phase !== "failed"; i++) {
      const byte = chunk[i] ?? 0
      if (phase === "inValue") {
        const step = inValue(byte)
        if (step === "endsAfter") finish(chunk, start, i + 1)
        else if (step === "endsBefore") {
          finish(chunk, start, i)
          i--
        }
        continue
      }
      if (isSpace(byte)) continue
      if (phase === "start") {
        if (byte !== 0x5b) return fail(`expected "[" at byte ${consumed + i}`)
        phase = "firstValue"
      } else if (phase === "firstValue" || phase === "value") {
        if (byte === 0x5d && phase === "firstValue") phase = "after"
        else if (byte === 0x5d || byte === 0x2c) return fail(`expected a transaction at byte ${consumed + i}`)
        else {
          startValue(byte)
          start = i
        }
      } else if (phase === "commaOrEnd") {
        if (byte === 0x2c) phase = "value"
        else if (byte === 0x5d) phase = "after"
        else return fail(`expected "," or "]" at byte ${consumed + i}`)
      } else if (phase === "after") return fail(`unexpected data after the closing "]" at byte ${consumed + i}`)
    }
    if (phase === "inValue") parts.push(chunk.subarray(start))
    consumed += chunk.length
    return failure
  }

  const end = (): string | undefined => {
    if (phase === "failed") return failure
    if (phase === "after") return undefined
    return fail(
      consumed === 0 ? "the file is empty" : `the file ends before the array's closing "]" (${consumed} bytes)`,
    )
  }

  return { push, end }
}
