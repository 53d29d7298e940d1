/**
 * Splits a JSON array that arrives in chunks into its elements' texts, one at a time, so a file of
 * any size is read without ever holding it whole. It checks only the array's frame (brackets,
 * commas, strings); each element's own JSON is for its consumer to parse. Structural characters are
 * ASCII, so scanning UTF-8 bytes never mistakes part of a multi-byte character for one.
 */

/** Where the scanner is in the array's frame; "inValue" is inside an element. */
type Phase = "start" | "firstValue" | "value" | "inValue" | "commaOrEnd" | "after" | "failed"

const isSpace = (byte: number) => byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09

/**
 * The frame's next phase after `byte` (not whitespace) outside an element: "inValue" if it opens an
 * element, "failed" if it breaks the frame. Called once per structural byte, never inside an element.
 */
const nextPhase = (phase: Phase, byte: number): Phase => {
  switch (phase) {
    case "start":
      return byte === 0x5b ? "firstValue" : "failed"
    case "firstValue":
    case "value":
      if (byte === 0x5d && phase === "firstValue") return "after"
      return byte === 0x5d || byte === 0x2c ? "failed" : "inValue"
    case "commaOrEnd":
      return byte === 0x2c ? "value" : byte === 0x5d ? "after" : "failed"
    default:
      // "after": nothing but whitespace may follow the closing "]".
      return "failed"
  }
}

/** The error for a byte that broke the frame in `phase`, at byte `at` of the file. */
const frameError = (phase: Phase, at: number): string => {
  if (phase === "start") return `expected "[" at byte ${at}`
  if (phase === "firstValue" || phase === "value") return `expected a transaction at byte ${at}`
  if (phase === "commaOrEnd") return `expected "," or "]" at byte ${at}`
  return `unexpected data after the closing "]" at byte ${at}`
}

/**
 * Finds where one element ends, a byte at a time: its kind, nesting and strings (with escapes). Kept
 * apart from the frame so that the loop inside an element runs only this one small function.
 */
const makeElementEnd = () => {
  let kind: "container" | "string" | "primitive" = "container"
  let depth = 0
  let inString = false
  let escaped = false

  /** The element's first byte. */
  const startValue = (byte: number) => {
    kind = byte === 0x7b || byte === 0x5b ? "container" : byte === 0x22 ? "string" : "primitive"
    depth = kind === "container" ? 1 : 0
    inString = kind === "string"
  }

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

  return { startValue, inValue }
}

/**
 * `onElement` answers an error message to stop at, or undefined; `push` and `end` answer the first
 * error (a broken frame, or the consumer's), or undefined.
 */
export const makeJsonArrayScanner = (onElement: (text: string) => string | undefined) => {
  let phase: Phase = "start"
  let parts: Array<Uint8Array> = []
  let consumed = 0
  let failure: string | undefined
  const { startValue, inValue } = makeElementEnd()

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
      const next = nextPhase(phase, byte)
      if (next === "failed") return fail(frameError(phase, consumed + i))
      phase = next
      if (next === "inValue") {
        startValue(byte)
        start = i
      }
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
