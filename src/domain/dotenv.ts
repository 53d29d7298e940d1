/** Parses the KEY=VALUE lines of a .env file (comments, blank lines, `export` and quotes allowed). */
export const parseDotenv = (text: string): Map<string, string> => {
  const values = new Map<string, string>()
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.trim()
    if (line === "" || line.startsWith("#")) continue
    const match = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line)
    if (match === null) continue
    const [, key = "", rawValue = ""] = match
    values.set(key, unquote(rawValue))
  }
  return values
}

const unquote = (value: string): string => {
  const quoted = /^(["'])(.*)\1$/.exec(value)
  if (quoted !== null) return quoted[2] ?? ""
  const comment = value.indexOf(" #")
  return (comment === -1 ? value : value.slice(0, comment)).trim()
}

/** Renders a .env file from its values, one `KEY=VALUE` a line. */
export const renderDotenv = (values: ReadonlyMap<string, string>): string =>
  `${[...values].map(([key, value]) => `${key}=${value}`).join("\n")}\n`
