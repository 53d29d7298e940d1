import { existsSync, readdirSync, readFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { describe, expect, it } from "vitest"
import { environmentVariables } from "../src/usage.js"
import { repoRoot } from "./support/processes.js"

const read = (path: string) => readFileSync(join(repoRoot, path), "utf8")
const docs = [
  "README.md",
  "bench/README.md",
  ...readdirSync(join(repoRoot, "docs"))
    .filter((f) => f.endsWith(".md"))
    .map((f) => `docs/${f}`),
]

describe("the README and docs", () => {
  const readme = read("README.md")

  it("the configuration table has every setting a node reads, and the CLI's NODES_DIR", () => {
    for (const [name] of environmentVariables) expect(readme, name).toContain(`| \`${name}\` |`)
    expect(readme).toContain("| `NODES_DIR` |")
  })

  it("documents every command", () => {
    for (const command of ["network", "node", "clone-node", "delete-nodes", "add-transaction", "status"]) {
      expect(readme, command).toMatch(new RegExp(`^\\| \`${command}[ \`]`, "m"))
    }
  })

  it("links only to files inside the repository, and every one exists", () => {
    for (const doc of docs) {
      const text = read(doc)
      expect(text, doc).not.toMatch(/\.\.\/shared\//)
      for (const [, target = ""] of text.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
        if (/^[a-z]+:/.test(target)) continue
        const path = join(repoRoot, dirname(doc), target)
        expect(existsSync(path), `${doc} links to ${target}`).toBe(true)
      }
    }
  })
})
