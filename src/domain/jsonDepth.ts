/**
 * Whether the JSON text nests arrays and objects deeper than `max`. One pass over the characters,
 * skipping strings, so a hostile frame is refused before JSON.parse and Schema walk it. Text that is
 * not JSON gets an answer too; the parser refuses it next.
 */
export const exceedsJsonDepth = (text: string, max: number): boolean => {
  let depth = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i)
    if (inString) {
      if (code === 92 /* \ */) i++
      else if (code === 34 /* " */) inString = false
    } else if (code === 34) {
      inString = true
    } else if (code === 91 /* [ */ || code === 123 /* { */) {
      if (++depth > max) return true
    } else if (code === 93 /* ] */ || code === 125 /* } */) {
      depth--
    }
  }
  return false
}
